//! Every Prometheus series rel04d exports, typed and registered once.
//!
//! [`Metrics`] has one field per family; call sites record through them with a
//! typed label set, so a series name or label is spelled in exactly one place.
//! Labels are operations, outcomes, states, intakes and scopes — never workload
//! ids — so cardinality stays small. `/metrics` is rendered in the classic
//! Prometheus text format (0.0.4), whose counter names carry `_total` in every
//! line, as they always have here.

use std::fmt;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::control::ControlState;
use crate::workload::Trigger;

/// The `Content-Type` of [`Metrics::render`]'s output.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A family of histograms whose buckets are set by a plain function.
pub type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Whether a sweep listed and evaluated every workload of its scope.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum SweepResult {
    Complete,
    Incomplete,
}

impl SweepResult {
    pub fn as_str(self) -> &'static str {
        match self {
            SweepResult::Complete => "complete",
            SweepResult::Incomplete => "incomplete",
        }
    }
}

/// What EventBridge did with a notification (or, `Collapsed`, that `notify.settle`
/// decided it was not to be sent: the flip was undone or overtaken in time).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum NotificationResult {
    Published,
    Failed,
    Collapsed,
}

impl NotificationResult {
    pub const ALL: [NotificationResult; 3] = [
        NotificationResult::Published,
        NotificationResult::Failed,
        NotificationResult::Collapsed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationResult::Published => "published",
            NotificationResult::Failed => "failed",
            NotificationResult::Collapsed => "collapsed",
        }
    }
}

/// What Security Hub did with a finding: `imported`, `refused` (in
/// `FailedFindings`, retried) or `failed` (the whole request failed, retried).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum FindingResult {
    Imported,
    Refused,
    Failed,
}

impl FindingResult {
    pub const ALL: [FindingResult; 3] = [
        FindingResult::Imported,
        FindingResult::Refused,
        FindingResult::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingResult::Imported => "imported",
            FindingResult::Refused => "refused",
            FindingResult::Failed => "failed",
        }
    }
}

/// Why a reconcile ran, without the event id (which would be a series per event).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub struct TriggerKind(&'static str);

impl From<&Trigger> for TriggerKind {
    fn from(trigger: &Trigger) -> Self {
        TriggerKind(trigger.as_str())
    }
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// Label values are the types' own lowercase names (`as_str`).
macro_rules! label_values {
    ($($type:ty),* $(,)?) => {$(
        impl EncodeLabelValue for $type {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> fmt::Result {
                EncodeLabelValue::encode(&self.as_str(), encoder)
            }
        }
    )*};
}

label_values!(
    ControlState,
    FindingResult,
    NotificationResult,
    SweepResult,
    TriggerKind,
);

// Label sets render in field order, e.g. `{operation="GetAnswer",outcome="ok"}`.
// Values owned by other modules (operations, error kinds, intakes, event
// outcomes) arrive as their `as_str()` names, so this module depends on none of
// the modules that count into it.

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub operation: &'static str,
    /// `ok`, or the error's kind.
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RetryLabels {
    pub operation: &'static str,
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: ControlState,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControlLabels {
    pub state: ControlState,
    pub muted: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TransitionLabels {
    pub to_state: ControlState,
    pub muted: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EnforcementLabels {
    pub result: ControlState,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    pub trigger: TriggerKind,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ScopeLabels {
    pub scope: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AccountRegionLabels {
    /// The account id, or `ambient` for the ambient credentials.
    pub account: String,
    pub region: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SweepLabels {
    pub scope: String,
    pub result: SweepResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    pub intake: &'static str,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntakeLabels {
    pub intake: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct NotificationLabels {
    pub result: NotificationResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FindingLabels {
    pub result: FindingResult,
}

/// The label values rel04d knows before anything happens, named by the modules
/// that own them (see above), for [`Metrics::zero_known_series`].
#[derive(Clone, Debug, Default)]
pub struct KnownLabels {
    /// Well-Architected operations (`operation`).
    pub operations: Vec<&'static str>,
    /// Error kinds (`outcome` of a call, besides `ok`), and which are retried.
    pub error_kinds: Vec<&'static str>,
    pub retried_kinds: Vec<&'static str>,
    pub intakes: Vec<&'static str>,
    pub event_outcomes: Vec<&'static str>,
    pub triggers: Vec<&'static str>,
    /// Account-regions (`scope`) scanned by this process.
    pub scopes: Vec<String>,
}

/// One Well-Architected call: 5 ms to about 10 s.
fn call_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 12))
}

/// One evaluation, retries included: 5 ms to about 80 s.
fn reconcile_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// One sweep of a scope: 0.1 s to about 55 minutes.
fn sweep_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.1, 2.0, 16))
}

/// From an event to its evaluation committed: 0.25 s to about 68 minutes.
fn lag_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.25, 2.0, 15))
}

/// Every family rel04d exports. Counters are registered without their `_total`
/// suffix, which the encoder adds.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub aws_calls: Family<CallLabels, Counter>,
    pub aws_retries: Family<RetryLabels, Counter>,
    pub aws_throttles: Family<OperationLabels, Counter>,
    pub aws_call_duration: HistogramFamily<OperationLabels>,
    pub evaluations: Family<StateLabels, Counter>,
    pub transitions: Family<TransitionLabels, Counter>,
    pub enforcements: Family<EnforcementLabels, Counter>,
    pub reconcile_duration: HistogramFamily<ReconcileLabels>,
    pub claims_busy: Counter,
    pub write_conflicts: Counter,
    pub sweeps: Family<SweepLabels, Counter>,
    pub sweep_duration: HistogramFamily<ScopeLabels>,
    pub events: Family<EventLabels, Counter>,
    pub event_lag: HistogramFamily<IntakeLabels>,
    pub notifications: Family<NotificationLabels, Counter>,
    pub flapping_controls: Counter,
    pub securityhub_findings: Family<FindingLabels, Counter>,
    /// Gauges recomputed when `/metrics` is scraped.
    pub controls: Family<ControlLabels, Gauge>,
    pub outbox_backlog: Gauge,
    pub securityhub_backlog: Gauge,
    pub queue_depth: Family<ScopeLabels, Gauge>,
    pub aws_request_rate: Family<AccountRegionLabels, Gauge<f64, AtomicU64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let metrics = Metrics {
            registry: Registry::default(),
            aws_calls: Family::default(),
            aws_retries: Family::default(),
            aws_throttles: Family::default(),
            aws_call_duration: Family::new_with_constructor(call_buckets),
            evaluations: Family::default(),
            transitions: Family::default(),
            enforcements: Family::default(),
            reconcile_duration: Family::new_with_constructor(reconcile_buckets),
            claims_busy: Counter::default(),
            write_conflicts: Counter::default(),
            sweeps: Family::default(),
            sweep_duration: Family::new_with_constructor(sweep_buckets),
            events: Family::default(),
            event_lag: Family::new_with_constructor(lag_buckets),
            notifications: Family::default(),
            flapping_controls: Counter::default(),
            securityhub_findings: Family::default(),
            controls: Family::default(),
            outbox_backlog: Gauge::default(),
            securityhub_backlog: Gauge::default(),
            queue_depth: Family::default(),
            aws_request_rate: Family::default(),
        };
        metrics.registered()
    }

    /// Registers every family with its help text: the one list of what is exported.
    fn registered(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "rel04d_aws_calls",
            "Calls to AWS APIs by operation and outcome (every attempt)",
            self.aws_calls.clone(),
        );
        r.register(
            "rel04d_aws_retries",
            "Retried AWS calls by operation and error kind",
            self.aws_retries.clone(),
        );
        r.register(
            "rel04d_aws_throttles",
            "Throttled AWS calls by operation",
            self.aws_throttles.clone(),
        );
        r.register(
            "rel04d_aws_call_duration_seconds",
            "Latency of one Well-Architected call attempt, by operation",
            self.aws_call_duration.clone(),
        );
        r.register(
            "rel04d_evaluations",
            "Evaluations by resulting state",
            self.evaluations.clone(),
        );
        r.register(
            "rel04d_transitions",
            "Recorded transitions by new state",
            self.transitions.clone(),
        );
        r.register(
            "rel04d_enforcements",
            "Answer updates by resulting state",
            self.enforcements.clone(),
        );
        r.register(
            "rel04d_reconcile_duration_seconds",
            "Duration of one workload's evaluation, by trigger",
            self.reconcile_duration.clone(),
        );
        r.register(
            "rel04d_claims_busy",
            "Evaluations skipped because another replica held the control",
            self.claims_busy.clone(),
        );
        r.register(
            "rel04d_write_conflicts",
            "Evaluations superseded by another writer's newer record",
            self.write_conflicts.clone(),
        );
        r.register(
            "rel04d_sweeps",
            "Sweeps by scope and whether they completed",
            self.sweeps.clone(),
        );
        r.register(
            "rel04d_sweep_duration_seconds",
            "Duration of each sweep, by scope",
            self.sweep_duration.clone(),
        );
        r.register(
            "rel04d_events",
            "Events received, by intake and outcome",
            self.events.clone(),
        );
        r.register(
            "rel04d_event_lag_seconds",
            "From an event (its time, or its arrival in SQS) to its evaluation committed",
            self.event_lag.clone(),
        );
        r.register(
            "rel04d_notifications",
            "Notifications sent to EventBridge, by result",
            self.notifications.clone(),
        );
        r.register(
            "rel04d_flapping_controls",
            "Times a control began flapping with its answer and tags unchanged (its notifications are held until it settles)",
            self.flapping_controls.clone(),
        );
        r.register(
            "rel04d_securityhub_findings",
            "Findings sent to AWS Security Hub, by result (refused and failed ones are retried)",
            self.securityhub_findings.clone(),
        );
        r.register(
            "rel04d_controls",
            "Active controls by state, muted ones apart",
            self.controls.clone(),
        );
        r.register(
            "rel04d_outbox_backlog",
            "Notifications not yet accepted by EventBridge",
            self.outbox_backlog.clone(),
        );
        r.register(
            "rel04d_securityhub_backlog",
            "Controls whose changed finding Security Hub has not accepted yet",
            self.securityhub_backlog.clone(),
        );
        r.register(
            "rel04d_queue_depth",
            "Workloads queued or being evaluated, per scope",
            self.queue_depth.clone(),
        );
        r.register(
            "rel04d_aws_request_rate",
            "Requests per second the client allows itself to the Well-Architected Tool, per account-region (learned when aws.max_requests_per_second is auto)",
            self.aws_request_rate.clone(),
        );
        self
    }

    /// Creates every series whose labels are known at start, at zero, as
    /// Prometheus advises: a series that appears only with its first increment
    /// leaves panels empty and keeps `rate()` and `increase()` alerts from seeing
    /// that first increment. Scrape-time gauges (`rel04d_controls`, the queue
    /// depth and request rate) are set by every scrape and need nothing here.
    pub fn zero_known_series(&self, known: &KnownLabels) {
        // `get_or_create` creates a series at zero; its guard is dropped at once.
        for &operation in &known.operations {
            let by_operation = OperationLabels { operation };
            let _ = self.aws_throttles.get_or_create(&by_operation);
            let _ = self.aws_call_duration.get_or_create(&by_operation);
            for &outcome in std::iter::once(&"ok").chain(&known.error_kinds) {
                let _ = self
                    .aws_calls
                    .get_or_create(&CallLabels { operation, outcome });
            }
            for &kind in &known.retried_kinds {
                let _ = self
                    .aws_retries
                    .get_or_create(&RetryLabels { operation, kind });
            }
        }
        for state in ControlState::ALL {
            let _ = self
                .enforcements
                .get_or_create(&EnforcementLabels { result: state });
            if state != ControlState::Removed {
                let _ = self.evaluations.get_or_create(&StateLabels { state });
            }
            for muted in [false, true] {
                let _ = self.transitions.get_or_create(&TransitionLabels {
                    to_state: state,
                    muted,
                });
            }
        }
        for &trigger in &known.triggers {
            let _ = self.reconcile_duration.get_or_create(&ReconcileLabels {
                trigger: TriggerKind(trigger),
            });
        }
        for &intake in &known.intakes {
            let _ = self.event_lag.get_or_create(&IntakeLabels { intake });
            for &outcome in &known.event_outcomes {
                let _ = self.events.get_or_create(&EventLabels { intake, outcome });
            }
        }
        for result in NotificationResult::ALL {
            let _ = self
                .notifications
                .get_or_create(&NotificationLabels { result });
        }
        for result in FindingResult::ALL {
            let _ = self
                .securityhub_findings
                .get_or_create(&FindingLabels { result });
        }
        for scope in &known.scopes {
            let _ = self.sweep_duration.get_or_create(&ScopeLabels {
                scope: scope.clone(),
            });
            for result in [SweepResult::Complete, SweepResult::Incomplete] {
                let _ = self.sweeps.get_or_create(&SweepLabels {
                    scope: scope.clone(),
                    result,
                });
            }
        }
    }

    /// The Prometheus text exposition format (0.0.4): see [`CONTENT_TYPE`].
    pub fn render(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
            .expect("writing to a String cannot fail");
        text
    }

    /// The value of one series as a scrape would read it (`0` when it was never
    /// recorded), for tests and summaries. `labels` go in their rendered order.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let series = series(name, labels);
        self.render()
            .lines()
            .find_map(|line| line.strip_prefix(series.as_str())?.strip_prefix(' '))
            .and_then(|value| value.parse().ok())
            .unwrap_or(0.0)
    }
}

/// A series as it appears in the text format, e.g. `name{a="x",b="y"}`.
fn series(name: &str, labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return name.to_owned();
    }
    let pairs: Vec<String> = labels
        .iter()
        .map(|(key, value)| {
            let value = value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n");
            format!("{key}=\"{value}\"")
        })
        .collect();
    format!("{name}{{{}}}", pairs.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_names_and_label_order_are_stable() {
        let m = Metrics::new();
        let get_answer = CallLabels {
            operation: "GetAnswer",
            outcome: "ok",
        };
        m.aws_calls.get_or_create(&get_answer).inc();
        m.aws_calls.get_or_create(&get_answer).inc();
        m.events
            .get_or_create(&EventLabels {
                intake: "http",
                outcome: "out_of_scope",
            })
            .inc();
        m.controls
            .get_or_create(&ControlLabels {
                state: ControlState::Alarm,
                muted: true,
            })
            .set(1);
        m.outbox_backlog.set(0);
        let text = m.render();
        for line in [
            "# HELP rel04d_aws_calls_total Calls to AWS APIs by operation and outcome (every attempt).",
            "# TYPE rel04d_aws_calls_total counter",
            "rel04d_aws_calls_total{operation=\"GetAnswer\",outcome=\"ok\"} 2",
            "rel04d_events_total{intake=\"http\",outcome=\"out_of_scope\"} 1",
            "rel04d_controls{state=\"alarm\",muted=\"true\"} 1",
            "rel04d_outbox_backlog 0",
            // Exported from the start, before any scrape recomputes it.
            "rel04d_securityhub_backlog 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert_eq!(
            m.counter(
                "rel04d_aws_calls_total",
                &[("operation", "GetAnswer"), ("outcome", "ok")]
            ),
            2.0
        );
        assert_eq!(m.counter("rel04d_claims_busy_total", &[]), 0.0);
    }

    #[test]
    fn durations_are_histograms() {
        let m = Metrics::new();
        let scope = ScopeLabels {
            scope: "ambient/us-east-1".into(),
        };
        m.sweep_duration.get_or_create(&scope).observe(0.3);
        m.sweep_duration.get_or_create(&scope).observe(0.7);
        let text = m.render();
        assert!(text.contains("# TYPE rel04d_sweep_duration_seconds histogram\n"));
        assert!(text.contains(
            "rel04d_sweep_duration_seconds_bucket{scope=\"ambient/us-east-1\",le=\"0.4\"} 1\n"
        ));
        assert!(
            text.contains("rel04d_sweep_duration_seconds_count{scope=\"ambient/us-east-1\"} 2\n")
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new();
        m.queue_depth
            .get_or_create(&ScopeLabels {
                scope: "x\"y\\z\n".into(),
            })
            .set(3);
        assert!(
            m.render()
                .contains("rel04d_queue_depth{scope=\"x\\\"y\\\\z\\n\"} 3\n")
        );
    }
}
