//! Event intake: EventBridge events about workload changes, from SQS or pushed
//! to `POST /events`, become targeted evaluations.
//!
//! Both intakes share [`EventHandler`]: parse, drop duplicates (by EventBridge id,
//! remembered durably), route to the scope that scans the account-region, and
//! submit an evaluation to its work queue, where a burst for one workload
//! coalesces. An event counts as handled only once its evaluation is recorded.

pub mod inbox;
pub mod pace;
pub mod parse;
pub mod push;
pub mod sample;
pub mod sqs;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tracing::Instrument;

use crate::account_region::AccountRegion;
use crate::metrics::{EventLabels, IntakeLabels, Metrics};
use crate::queue::{Job, Target};
use crate::reconcile::Reconciled;
use crate::shutdown::CancellationToken;
use crate::store::Store;
use crate::workload::Trigger;
use parse::{Parsed, WorkloadEvent};

/// Where an event came in (the `intake` label and log field).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Intake {
    Sqs,
    Http,
}

impl Intake {
    pub const ALL: [Intake; 2] = [Intake::Sqs, Intake::Http];

    pub fn as_str(self) -> &'static str {
        match self {
            Intake::Sqs => "sqs",
            Intake::Http => "http",
        }
    }
}

/// The `outcome` label of `rel04d_events_total`: what became of an event, or
/// why it waits for another attempt (`deferred`, `failed`).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum EventOutcome {
    Evaluated,
    Duplicate,
    Irrelevant,
    OutOfScope,
    FailedCall,
    Malformed,
    Deferred,
    Failed,
}

impl EventOutcome {
    pub const ALL: [EventOutcome; 8] = [
        EventOutcome::Evaluated,
        EventOutcome::Duplicate,
        EventOutcome::Irrelevant,
        EventOutcome::OutOfScope,
        EventOutcome::FailedCall,
        EventOutcome::Malformed,
        EventOutcome::Deferred,
        EventOutcome::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventOutcome::Evaluated => "evaluated",
            EventOutcome::Duplicate => "duplicate",
            EventOutcome::Irrelevant => "irrelevant",
            EventOutcome::OutOfScope => "out_of_scope",
            EventOutcome::FailedCall => "failed_call",
            EventOutcome::Malformed => "malformed",
            EventOutcome::Deferred => "deferred",
            EventOutcome::Failed => "failed",
        }
    }
}

/// What became of one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Handled {
    Evaluated(Reconciled),
    /// Already handled earlier (a redelivery or a duplicate).
    Duplicate,
    /// Well-formed, about nothing REL 04 depends on.
    Irrelevant(String),
    /// About an account-region this daemon does not scan.
    OutOfScope(String),
    /// A logged API call that failed: nothing changed.
    FailedCall(String),
    /// Unreadable: to be dead-lettered with this reason.
    Malformed(String),
}

impl Handled {
    pub fn outcome(&self) -> EventOutcome {
        match self {
            Handled::Evaluated(_) => EventOutcome::Evaluated,
            Handled::Duplicate => EventOutcome::Duplicate,
            Handled::Irrelevant(_) => EventOutcome::Irrelevant,
            Handled::OutOfScope(_) => EventOutcome::OutOfScope,
            Handled::FailedCall(_) => EventOutcome::FailedCall,
            Handled::Malformed(_) => EventOutcome::Malformed,
        }
    }

    /// Why the event was not evaluated, if it was not.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Handled::Evaluated(_) => None,
            Handled::Duplicate => Some("already handled (a redelivery or a duplicate)"),
            Handled::Irrelevant(why)
            | Handled::OutOfScope(why)
            | Handled::FailedCall(why)
            | Handled::Malformed(why) => Some(why),
        }
    }
}

/// An event read far enough to know whether it needs an evaluation.
pub enum Triage<'a> {
    /// Evaluate the event's workload in this scope.
    Evaluate(WorkloadEvent, &'a Arc<AccountRegion>),
    /// Nothing to evaluate; the ids are for the log line.
    Settled {
        event_id: Option<String>,
        event_name: Option<String>,
        handled: Handled,
    },
}

/// One event of a batch for [`EventHandler::handle_batch`].
pub struct Incoming<'a> {
    pub body: &'a str,
    /// The body as its intake already parsed it (a pushed event, stored by
    /// this daemon): not parsed again.
    pub parsed: Option<WorkloadEvent>,
    /// When the intake's queue received it (SQS' SentTimestamp), if known.
    pub queued_at: Option<DateTime<Utc>>,
    /// What its handling's log lines carry (an SQS message's id), if anything.
    pub span: tracing::Span,
}

/// Why an event was not handled this time; either way it is tried again.
#[derive(Debug, thiserror::Error)]
pub enum NotHandled {
    /// Nothing wrong with the event: the daemon is shutting down, or another
    /// replica is evaluating the workload. Try again later, and do not count it
    /// as a failed attempt.
    #[error("{0}")]
    Deferred(String),
    /// The evaluation could not be recorded (the database).
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

pub struct EventHandler {
    store: Store,
    scopes: Vec<Arc<AccountRegion>>,
    tags_enabled: bool,
    /// The lenses and questions that are controls: other answers' events are
    /// irrelevant.
    governed: parse::Governed,
    metrics: Arc<Metrics>,
    /// Cancelled once the daemon is stopping: evaluations abandoned from then on
    /// are deferred, not failed.
    stopping: CancellationToken,
}

impl EventHandler {
    pub fn new(
        store: Store,
        scopes: Vec<Arc<AccountRegion>>,
        tags_enabled: bool,
        metrics: Arc<Metrics>,
        stopping: CancellationToken,
    ) -> Self {
        EventHandler {
            store,
            scopes,
            tags_enabled,
            governed: parse::Governed::rel04(),
            metrics,
            stopping,
        }
    }

    /// Takes events about the questions `[[controls]]` names (default: REL 04).
    pub fn with_controls(mut self, controls: &crate::config::controls::Controls) -> Self {
        self.governed = parse::Governed::of(controls);
        self
    }

    /// Handles a batch of events, and leaves remembering the evaluated events'
    /// ids to the caller: the inbox records them with the rest of its batch, in the transaction that marks the inbox
    /// rows done; the SQS consumer in one statement before it deletes the
    /// batch's messages. Each body is parsed once, and the batch is looked up
    /// as handled before in one query (not one per event). The results
    /// (outcome, and the id to remember) are in the order of `events`; an
    /// error means the lookup failed and none was handled.
    pub async fn handle_batch(
        &self,
        intake: Intake,
        events: &mut [Incoming<'_>],
    ) -> anyhow::Result<Vec<Result<(Handled, Option<String>), NotHandled>>> {
        let triaged: Vec<Triage<'_>> = events
            .iter_mut()
            .map(|event| match event.parsed.take() {
                Some(parsed) => self.routed(parsed),
                None => event.span.in_scope(|| self.triage(event.body)),
            })
            .collect();
        let event_ids: Vec<&str> = triaged
            .iter()
            .filter_map(|triage| match triage {
                Triage::Evaluate(event, _) => Some(event.event_id.as_str()),
                Triage::Settled { .. } => None,
            })
            .collect();
        let handled_before = self.store.events_processed(&event_ids).await?;
        let handling = triaged
            .into_iter()
            .zip(events.iter())
            .map(|(triage, incoming)| {
                let duplicate = match &triage {
                    Triage::Evaluate(event, _) => handled_before.contains(&event.event_id),
                    Triage::Settled { .. } => false,
                };
                self.handle_triaged(intake, triage, incoming.queued_at, duplicate)
                    .instrument(incoming.span.clone())
            });
        Ok(futures::future::join_all(handling).await)
    }

    /// Remembers evaluated events' ids (from [`EventHandler::handle_batch`])
    /// as handled, in one statement.
    pub async fn remember(&self, handled: &[(String, &'static str)]) -> anyhow::Result<()> {
        self.store.mark_events_processed(handled, Utc::now()).await
    }

    /// Handles a triaged event; `duplicate` is whether its id was handled
    /// before. An evaluated event's id comes back for the caller to remember.
    async fn handle_triaged(
        &self,
        intake: Intake,
        triage: Triage<'_>,
        queued_at: Option<DateTime<Utc>>,
        duplicate: bool,
    ) -> Result<(Handled, Option<String>), NotHandled> {
        let (event, scope) = match triage {
            Triage::Evaluate(event, scope) => (event, scope),
            Triage::Settled {
                event_id,
                event_name,
                handled,
            } => {
                self.record(intake, event_id.as_deref(), event_name.as_deref(), &handled);
                return Ok((handled, None));
            }
        };
        let result = self.evaluate(&event, scope, duplicate).await;
        if matches!(result, Ok(Handled::Evaluated(_))) {
            self.observe_lag(intake, queued_at.or(event.time));
        }
        match &result {
            Ok(handled) => self.record(
                intake,
                Some(&event.event_id),
                Some(&event.event_name),
                handled,
            ),
            Err(error) => {
                let outcome = match error {
                    NotHandled::Deferred(_) => EventOutcome::Deferred,
                    NotHandled::Failed(_) => EventOutcome::Failed,
                };
                self.count(intake, outcome);
                let (intake, outcome) = (intake.as_str(), outcome.as_str());
                let (event_id, event_name) = (&event.event_id, &event.event_name);
                let workload_id = &event.workload_id;
                let message = "event not handled yet; it will be tried again";
                match error {
                    NotHandled::Deferred(_) => {
                        tracing::info!(intake, %event_id, %event_name, %workload_id, outcome, reason = %error, message)
                    }
                    NotHandled::Failed(_) => {
                        tracing::warn!(intake, %event_id, %event_name, %workload_id, outcome, reason = %error, message)
                    }
                }
            }
        }
        let remembered = match &result {
            Ok(Handled::Evaluated(_)) => Some(event.event_id),
            _ => None,
        };
        result.map(|handled| (handled, remembered))
    }

    /// Parses and routes an event without touching the database: what `POST
    /// /events` answers at once, and the first step of [`EventHandler::handle`].
    pub fn triage(&self, body: &str) -> Triage<'_> {
        let parsed = match parse::parse_for(body, self.tags_enabled, &self.governed) {
            Ok(parsed) => parsed,
            Err(malformed) => {
                let (event_id, event_name) = parse::peek(body);
                return Triage::Settled {
                    event_id,
                    event_name,
                    handled: Handled::Malformed(malformed.0),
                };
            }
        };
        let event = match parsed {
            Parsed::Relevant(event) => event,
            Parsed::Irrelevant {
                event_id,
                event_name,
                why,
            } => {
                return Triage::Settled {
                    event_id: Some(event_id),
                    event_name,
                    handled: Handled::Irrelevant(why),
                };
            }
            Parsed::FailedCall {
                event_id,
                event_name,
                code,
            } => {
                let why = format!("{event_name} failed ({code}); nothing changed");
                return Triage::Settled {
                    event_id: Some(event_id),
                    event_name: Some(event_name),
                    handled: Handled::FailedCall(why),
                };
            }
        };
        self.routed(event)
    }

    /// A relevant event, routed to its scope (or out of scope).
    fn routed(&self, event: WorkloadEvent) -> Triage<'_> {
        match self.route(&event) {
            Some(scope) => Triage::Evaluate(event, scope),
            None => Triage::Settled {
                handled: Handled::OutOfScope(format!(
                    "no configured scope scans account {} in {}",
                    event.account.as_deref().unwrap_or("(unknown)"),
                    event.region
                )),
                event_id: Some(event.event_id),
                event_name: Some(event.event_name),
            },
        }
    }

    /// Counts an event's outcome and logs one line for any not evaluated:
    /// malformed ones as warnings (they are dead-lettered), the rest as info.
    pub fn record(
        &self,
        intake: Intake,
        event_id: Option<&str>,
        event_name: Option<&str>,
        handled: &Handled,
    ) {
        let outcome = handled.outcome();
        self.count(intake, outcome);
        let Some(reason) = handled.reason() else {
            return;
        };
        let (intake, outcome) = (intake.as_str(), outcome.as_str());
        let event_id = event_id.unwrap_or("(none)");
        let event_name = event_name.unwrap_or("(none)");
        if matches!(handled, Handled::Malformed(_)) {
            tracing::warn!(
                intake,
                event_id,
                event_name,
                outcome,
                reason,
                "event dropped"
            );
        } else {
            tracing::info!(
                intake,
                event_id,
                event_name,
                outcome,
                reason,
                "event not evaluated"
            );
        }
    }

    fn count(&self, intake: Intake, outcome: EventOutcome) {
        self.metrics
            .events
            .get_or_create(&EventLabels {
                intake: intake.as_str(),
                outcome: outcome.as_str(),
            })
            .inc();
    }

    /// Observes the time from `since` (the event, or its arrival in the queue)
    /// to now, just after its evaluation committed. A clock ahead of ours
    /// counts as no lag.
    fn observe_lag(&self, intake: Intake, since: Option<DateTime<Utc>>) {
        let Some(since) = since else { return };
        let lag = (Utc::now() - since).to_std().unwrap_or_default();
        self.metrics
            .event_lag
            .get_or_create(&IntakeLabels {
                intake: intake.as_str(),
            })
            .observe(lag.as_secs_f64());
    }

    /// Evaluates a routed event's workload, unless its id was handled before.
    async fn evaluate(
        &self,
        event: &WorkloadEvent,
        scope: &Arc<AccountRegion>,
        duplicate: bool,
    ) -> Result<Handled, NotHandled> {
        if duplicate {
            return Ok(Handled::Duplicate);
        }
        // An answer change needs only the answer (and the control row), unless
        // the policies read more: the evaluator decides (`Target::Answer`); one
        // that names a governed question needs only that question's control.
        let id = event.workload_id.clone();
        let target = match (&event.question, event.event_name.as_str()) {
            (Some((lens, question)), _) => Target::AnswerOf(id, lens.clone(), question.clone()),
            (None, "UpdateAnswer") => Target::Answer(id),
            (None, _) => Target::Id(id),
        };
        let done = scope.submit(Job {
            target,
            trigger: Trigger::Event(event.event_id.clone()),
        });
        let done = done
            .await
            .map_err(|_| "the evaluation was abandoned".to_owned())
            .and_then(|done| done.map_err(|e| format!("the evaluation was not recorded: {e}")));
        let reconciled = match done {
            Ok(reconciled) => reconciled,
            // The work queue closed under it: shutdown, not the event's fault.
            Err(why) if self.stopping.is_cancelled() => {
                return Err(NotHandled::Deferred(format!("shutting down ({why})")));
            }
            Err(why) => return Err(anyhow::anyhow!(why).into()),
        };
        // Another replica's evaluation may have read the answer before this
        // change: try again later rather than trust it.
        if matches!(reconciled, Reconciled::Busy | Reconciled::Superseded) {
            return Err(NotHandled::Deferred(format!(
                "another replica is evaluating workload {}",
                event.workload_id
            )));
        }
        Ok(Handled::Evaluated(reconciled))
    }

    /// The scope of the event's account and region: an assumed-role account first,
    /// else the ambient credentials' scan of that region, else the only scope of
    /// that region when the event names no account.
    fn route(&self, event: &WorkloadEvent) -> Option<&Arc<AccountRegion>> {
        let in_region: Vec<&Arc<AccountRegion>> = self
            .scopes
            .iter()
            .filter(|s| s.spec.region == event.region)
            .collect();
        let by_account = in_region
            .iter()
            .find(|s| s.spec.account_id.is_some() && s.spec.account_id == event.account);
        let ambient = in_region.iter().find(|s| s.spec.account_id.is_none());
        let only = (event.account.is_none() && in_region.len() == 1).then(|| &in_region[0]);
        by_account.or(ambient).or(only).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pushed event its intake already parsed is taken as parsed: its
    /// stored body is not read again (here it would not parse at all).
    #[tokio::test]
    async fn an_event_parsed_at_intake_is_not_parsed_again() {
        let (_dir, store) = crate::store::scratch_store().await;
        let handler = EventHandler::new(
            store,
            Vec::new(),
            false,
            Arc::new(Metrics::new()),
            CancellationToken::new(),
        );
        let parsed = sample::parsed_update_answer(1);
        let mut events = [
            Incoming {
                body: "not json",
                parsed: Some(parsed),
                queued_at: None,
                span: tracing::Span::none(),
            },
            Incoming {
                body: "not json",
                parsed: None,
                queued_at: None,
                span: tracing::Span::none(),
            },
        ];
        let results = handler
            .handle_batch(Intake::Http, &mut events)
            .await
            .unwrap();
        let outcomes: Vec<EventOutcome> = results
            .into_iter()
            .map(|result| result.unwrap().0.outcome())
            .collect();
        // No scope is configured: the parsed event is routed, and is out of
        // scope; the unparsed body is read, and is malformed.
        assert_eq!(
            outcomes,
            [EventOutcome::OutOfScope, EventOutcome::Malformed]
        );
    }
}
