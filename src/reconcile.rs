//! The one evaluation path: "evaluate workload W now", whatever asked for it.
//!
//! Like a kube-rs reconcile, it is told nothing about why it runs and checks
//! everything: does the workload exist, does it have the lens, what do the policies
//! say, what is the answer, does it need enforcing. Running it twice on unchanged
//! input writes nothing new, so sweeps, events, retries and replays are all safe.
//!
//! Here it reads; `decide` turns what it read into a [`Verdict`] (pure, tested
//! without a Tool or a database); `commit` hands each verdict to the store's
//! one `apply` and announces what committed.

mod calculate;
mod commit;
mod decide;
mod enforce;
mod expiring;
mod lens;
mod lens_reviews;
mod plan;
mod undescribable;

pub use plan::WorkloadPlan;

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::controls::Controls;
use crate::control::{self, ControlDef, ControlState, PolicySet, Verdict};
use crate::metrics::{Metrics, ReconcileLabels, TriggerKind};
use crate::queue::{Job, Stored, Target};
use crate::store::{ControlKey, ControlRow, Known, Store, TransitionRow};
use crate::wellarchitected::{WaError, WellArchitected};
use crate::workload::{Trigger, Workload};
use decide::{Answered, Planned};

/// How one reconcile ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reconciled {
    /// Evaluated; the control is now in this state.
    Evaluated(ControlState),
    /// The workload or its lens is gone; the control is (now) removed.
    Removed,
    /// Nothing to do: an unknown workload without the lens, or gone before we had
    /// a control for it.
    Ignored,
    /// Another writer (replica) recorded this control first; its result stands.
    Superseded,
    /// Another replica is evaluating this workload right now.
    Busy,
}

/// How long a replica's claim on a control lasts if it dies before recording.
/// Short, so a restarted or surviving replica soon takes the work over; an
/// evaluation that outlasts it (retries in an outage) is still safe, because the
/// version check on the write arbitrates — the claim only avoids doubled work.
const CONTROL_CLAIM: chrono::Duration = chrono::Duration::seconds(30);

/// The evaluator and everything it writes through.
pub struct Reconciler {
    store: Store,
    policies: PolicySet,
    tags_enabled: bool,
    /// Whether any policy is calculated: then every evaluation describes its
    /// workload (GetWorkload), whose description the calculations read.
    calculates: bool,
    /// Whether any policy is scoped by workload name: then an answer change
    /// still describes its workload, in case it was renamed unannounced.
    reads_names: bool,
    /// Runs calculated policies' `template_input` queries.
    schema: crate::graphql::Rel04Schema,
    metrics: Arc<Metrics>,
    transitions: broadcast::Sender<TransitionRow>,
    /// This replica's name when replicas share the database (claims are taken),
    /// `None` when this process is the only writer.
    replica: Option<String>,
    /// `enforce.defer_after_human_change`; zero: Enforce never waits.
    defer_after_human_change: chrono::Duration,
    /// `http.request_timeout`: a `template_input` query gets what a `/graphql`
    /// request gets.
    graphql_deadline: std::time::Duration,
    /// `notify.exception_expiry_warning`; `None`: off.
    exception_expiry_warning: Option<chrono::Duration>,
    warned: expiring::Warned,
    /// `[[controls]]`: the questions governed and their names.
    controls: Arc<Controls>,
    /// The same, by lens in configuration order.
    lenses: Vec<lens::LensControls>,
    /// Each workload's lens reviews (their `LensStatus`) as last read.
    lens_reviews: lens_reviews::LensReviews,
}

/// The part of a scope a reconcile needs: its Tool client and its key.
pub struct ScopeRef<'a> {
    pub key: &'a str,
    pub wa: &'a WellArchitected,
}

/// What one evaluation is about: where it runs, the workload, the control
/// (which question of which lens) and its cause.
struct Subject<'a> {
    scope: &'a ScopeRef<'a>,
    workload: &'a Workload,
    control: &'a Arc<ControlDef>,
    /// The lens review's status, when known: in the control's reason and details.
    lens_status: Option<control::LensStatus>,
    trigger: &'a Trigger,
}

impl Subject<'_> {
    fn key(&self) -> ControlKey {
        ControlKey::new(
            &self.workload.arn,
            &self.control.lens,
            &self.control.question_id,
        )
    }
}

impl Reconciler {
    pub fn new(
        store: Store,
        policies: PolicySet,
        metrics: Arc<Metrics>,
        replica: Option<String>,
    ) -> Self {
        let (transitions, _) = broadcast::channel(1024);
        Reconciler {
            schema: crate::graphql::schema(store.clone(), policies.clone()),
            store,
            tags_enabled: policies.tag_prefix.is_some(),
            calculates: policies.settings.iter().any(|s| !s.calculated.is_empty()),
            reads_names: policies
                .settings
                .iter()
                .any(|s| matches!(s.scope, control::Scope::WorkloadName(_))),
            policies,
            metrics,
            transitions,
            replica,
            defer_after_human_change: chrono::Duration::zero(),
            graphql_deadline: std::time::Duration::from_secs(10),
            exception_expiry_warning: None,
            warned: expiring::Warned::default(),
            controls: Arc::new(Controls::default()),
            lenses: lens::LensControls::of(&Arc::new(Controls::default())),
            lens_reviews: Default::default(),
        }
    }

    /// The questions governed and their names (`[[controls]]`).
    pub fn controls(&self) -> &Arc<Controls> {
        &self.controls
    }

    /// Governs the questions `[[controls]]` names (default: REL 04 alone).
    pub fn with_controls(mut self, controls: &Controls) -> Self {
        self.controls = Arc::new(controls.clone());
        self.lenses = lens::LensControls::of(&self.controls);
        self
    }

    /// Warns of exceptions a control uses that expire within `window`
    /// (`notify.exception_expiry_warning`).
    pub fn with_exception_expiry_warning(mut self, window: Option<std::time::Duration>) -> Self {
        self.exception_expiry_warning =
            window.map(|w| chrono::Duration::from_std(w).unwrap_or(chrono::Duration::MAX));
        self
    }

    /// Calculations' queries get `deadline` (`http.request_timeout`), as
    /// `/graphql` requests do.
    pub fn with_graphql_deadline(mut self, deadline: std::time::Duration) -> Self {
        self.graphql_deadline = deadline;
        self
    }

    /// Enforce leaves an answer alone for `window` after someone other than
    /// rel04d changed it (`enforce.defer_after_human_change`).
    pub fn with_enforce_defer(mut self, window: std::time::Duration) -> Self {
        self.defer_after_human_change =
            chrono::Duration::from_std(window).unwrap_or(chrono::Duration::MAX);
        self
    }

    /// Every transition this process records, as it commits.
    pub fn subscribe(&self) -> broadcast::Receiver<TransitionRow> {
        self.transitions.subscribe()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Evaluates one workload. Errors are for failures to record (the database);
    /// failures to read the Tool end as the control's `error` state instead.
    ///
    /// Everything logged meanwhile (retries, throttling, enforce, store errors)
    /// carries the `reconcile` span: scope, workload id, trigger and event id. The
    /// span is at ERROR level only so that no log level turns it off; it writes
    /// no line of its own.
    pub async fn reconcile(&self, scope: &ScopeRef<'_>, job: Job) -> anyhow::Result<Reconciled> {
        let span = tracing::error_span!(
            "reconcile",
            scope = scope.key,
            workload_id = job.workload_id(),
            trigger = job.trigger.as_str(),
            event_id = job.trigger.event_id(),
        );
        let started = Instant::now();
        let kind = TriggerKind::from(&job.trigger);
        let result = self.evaluate(scope, job).instrument(span).await;
        self.metrics
            .reconcile_duration
            .get_or_create(&ReconcileLabels { trigger: kind })
            .observe(started.elapsed().as_secs_f64());
        // Successes are counted where they commit; a failure may come before
        // any commit (a read, a statement inside the transaction).
        if result.is_err() {
            self.store.write_health().observe(false);
        }
        result
    }

    /// Takes the job by value: a sweep's job carries the workload and its control
    /// as read, which the evaluation uses as they are, not copies.
    async fn evaluate(&self, scope: &ScopeRef<'_>, job: Job) -> anyhow::Result<Reconciled> {
        let Job { target, trigger } = job;
        // A change to the workload itself (an upgrade, a lens associated) or a
        // person's request reads its lens reviews again; an answer's change
        // spends no call on them.
        let reread_reviews = trigger != Trigger::Sweep && matches!(target, Target::Id(_));
        let may_read_reviews = !matches!(target, Target::Answer(_) | Target::AnswerOf(..));
        // An event that named the question whose answer changed: only its control.
        let only = match &target {
            Target::AnswerOf(_, lens, question) => Some((lens.clone(), question.clone())),
            _ => None,
        };
        let target = match target {
            Target::Answer(id) | Target::AnswerOf(id, ..) => {
                self.as_recorded(scope.key, id).await?
            }
            other => other,
        };
        let (workload, stored) = match target {
            Target::Listed(workload, stored)
                if (!self.tags_enabled || workload.tags.is_some())
                    && (!self.calculates || workload.data.is_some()) =>
            {
                (workload, stored)
            }
            Target::Listed(listed, stored) => match scope.wa.describe_workload(&listed.id).await {
                Ok(workload) => (workload, stored),
                Err(error) => {
                    let undescribable =
                        self.undescribable(scope, &trigger, &listed.id, Some(&listed), error);
                    return Box::pin(undescribable).await;
                }
            },
            Target::Id(id) | Target::Answer(id) | Target::AnswerOf(id, ..) => {
                match scope.wa.describe_workload(&id).await {
                    Ok(workload) => (workload, Stored::Unread),
                    Err(error) => {
                        let undescribable = self.undescribable(scope, &trigger, &id, None, error);
                        return Box::pin(undescribable).await;
                    }
                }
            }
        };
        // Calculated policies run once per workload, whichever controls read them.
        let calculated = if self.calculates {
            Box::pin(self.calculate(&workload, &workload.policy_facts(), Utc::now())).await
        } else {
            control::Calculated::default()
        };
        let reviews = self
            .lens_reviews
            .of(scope.wa, &workload.id, reread_reviews, may_read_reviews)
            .await;
        let mut ended = lens::Ended::default();
        for governed in &self.lenses {
            let question = match &only {
                Some((lens, _)) if *lens != governed.lens => continue,
                Some((_, question)) => Some(question.as_str()),
                None => None,
            };
            let read = lens::Read {
                stored: &stored,
                reviews: reviews.as_ref(),
                calculated: &calculated,
                question,
            };
            let reconciled = self
                .evaluate_lens(scope, &workload, governed, read, &trigger)
                .await?;
            ended.add(reconciled);
        }
        Ok(ended.into_reconciled())
    }

    /// Evaluates one control of `subject`'s workload, given what its sweep's
    /// page read of it (`stored`) and its answer as read with its lens (`read`,
    /// `None`: read it now).
    ///
    /// Here and in [`Reconciler::evaluate`], the writes and the rare paths are
    /// awaited boxed: a future is as large as its largest await, and hundreds
    /// of evaluations wait at once for their Tool calls. Boxed, each is ~5 KiB
    /// instead of ~15, and the boxes live only while they run.
    async fn evaluate_control(
        &self,
        subject: &Subject<'_>,
        stored: Stored,
        calculated: &control::Calculated,
        read: Option<Result<control::ObservedAnswer, WaError>>,
    ) -> anyhow::Result<Reconciled> {
        let (workload, trigger, scope) = (subject.workload, subject.trigger, subject.scope);
        let control = match stored {
            // Read with its sweep's page: an active control needs no query here.
            Stored::Control(control)
                if control.workload_arn == workload.arn && !control.is_removed() =>
            {
                Known::Saved(control)
            }
            // Shown absent by its sweep's page (a sweep claims nothing): created
            // with its first verdict, in one transaction, by `apply`.
            Stored::Absent if *trigger == Trigger::Sweep => Known::New,
            _ => Known::Saved(Box::new(Box::pin(self.open(subject)).await?)),
        };
        let Some(control) = self.claim_for(trigger, control).await? else {
            // Another replica holds the control: a verdict that writes nothing.
            return Box::pin(self.apply(subject, &Known::New, Verdict::Busy)).await;
        };

        let facts = workload.policy_facts();
        let now = Utc::now();
        let policies =
            control::resolve_control(subject.control, &self.policies, &facts, now, calculated);
        self.warn_expiring(workload, subject.control, &policies, now)
            .await?;
        let expected = match decide::of_plan(control::plan(policies)) {
            Planned::Apply(verdict) => {
                return Box::pin(self.apply(subject, &control, verdict)).await;
            }
            Planned::Check(expected) => expected,
        };
        let read = match read {
            Some(read) => read,
            None => {
                let (lens, question) = (&subject.control.lens, &subject.control.question_id);
                scope.wa.get_answer(&workload.id, lens, question).await
            }
        };
        let read = read.map(|mut answer| {
            answer.lens_status = subject.lens_status.clone();
            answer
        });
        match decide::of_answer(&expected, read) {
            Answered::Apply(verdict) => Box::pin(self.apply(subject, &control, verdict)).await,
            Answered::NotFound(error) => {
                let control = Box::pin(self.saved(subject, control)).await?;
                Box::pin(self.answer_not_found(subject, control, &expected, error)).await
            }
            Answered::Enforce { observed, alarm } => {
                let control = Box::pin(self.saved(subject, control)).await?;
                Box::pin(self.enforce(subject, control, &expected, &observed, alarm)).await
            }
        }
    }

    /// An answer-only target as its active control last recorded it, as if
    /// listed: only the answer changed, and no policy reads more of the workload
    /// than its id, account and the answer, so describing it (GetWorkload)
    /// would tell nothing new. If the lens or the workload has gone meanwhile,
    /// GetAnswer's 404 is confirmed by describing it, as for a listed one.
    /// Otherwise (tag, name or calculated policies, no active control of this
    /// scope) it is described, as any target by id.
    async fn as_recorded(&self, scope_key: &str, id: String) -> anyhow::Result<Target> {
        if self.tags_enabled || self.calculates || self.reads_names {
            return Ok(Target::Id(id));
        }
        let mut controls = self.store.controls_of_workload_id(&id).await?;
        controls.retain(|c| !c.is_removed() && c.scanned_by == scope_key);
        let Some(control) = controls.first() else {
            return Ok(Target::Id(id));
        };
        // The lenses its active controls have: one gone meanwhile shows as
        // its answer's 404, confirmed by describing the workload.
        let mut lenses: Vec<String> = controls.iter().map(|c| c.lens.clone()).collect();
        lenses.sort();
        lenses.dedup();
        let workload = Workload {
            arn: control.workload_arn.clone(),
            id,
            name: control.workload_name.clone(),
            account_id: control.account_id.clone(),
            region: control.region.clone(),
            lenses,
            tags: None,
            data: None,
        };
        Ok(Target::Listed(workload, Stored::Controls(controls)))
    }

    /// GetAnswer said "not found" for a workload listed with the lens: remove the
    /// control only if the workload or its lens is really gone.
    async fn answer_not_found(
        &self,
        subject: &Subject<'_>,
        control: ControlRow,
        expected: &control::Expected,
        error: WaError,
    ) -> anyhow::Result<Reconciled> {
        let id = &subject.workload.id;
        match subject.scope.wa.describe_workload(id).await {
            Ok(workload) => {
                let has_lens = workload.has(&subject.control.lens);
                match decide::of_redescribed(expected, &error, has_lens) {
                    removal @ Verdict::Remove { .. } => {
                        self.apply_current(&subject.key(), removal, subject.trigger)
                            .await
                    }
                    verdict => {
                        let control = Known::Saved(Box::new(control));
                        self.apply(subject, &control, verdict).await
                    }
                }
            }
            Err(gone) => {
                self.undescribable(subject.scope, subject.trigger, id, None, gone)
                    .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_wellarchitected::config::{BehaviorVersion, Credentials, Region};
    use tokio::sync::Semaphore;

    use super::*;
    use crate::wellarchitected::RateLimiter;

    /// A process holds up to 512 evaluations at once, most waiting for their
    /// scope's rate slot (`account_region::workers::STARTED_EVALUATIONS`), each
    /// as its future, which is as large as its largest await. Rare paths (a
    /// 404, enforcing, an undescribable workload, calculations) and writes are
    /// boxed, so a waiting evaluation is a few KiB (5.5 in this test's
    /// profile): unboxed it was 15 KiB here, and 7 MiB of the million's peak
    /// (BENCHMARKS.md, "Ninth pass"). One rare path left unboxed adds 3–11 KiB.
    #[tokio::test]
    async fn an_evaluation_waiting_for_its_call_is_a_few_kib() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let store = Store::connect(&url, 1).await.unwrap();
        let reconciler =
            Reconciler::new(store, PolicySet::default(), Arc::new(Metrics::new()), None);
        let config = aws_sdk_wellarchitected::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .build();
        let wa = WellArchitected::new(
            aws_sdk_wellarchitected::Client::from_conf(config),
            RateLimiter::new(10.0),
            Arc::new(Semaphore::new(1)),
            1,
            Arc::new(Metrics::new()),
        );
        let scope = ScopeRef {
            key: "123456789012/us-east-1",
            wa: &wa,
        };
        let job = Job {
            target: Target::Id("0123456789abcdef0123456789abcdef".to_owned()),
            trigger: Trigger::Sweep,
        };
        let evaluation = reconciler.reconcile(&scope, job);
        let size = std::mem::size_of_val(&evaluation);
        assert!(size <= 6 * 1024, "an evaluation's future is {size} bytes");
    }
}
