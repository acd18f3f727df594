//! The one evaluation path: "evaluate workload W now", whatever asked for it.
//!
//! Like a kube-rs reconcile, it is told nothing about why it runs and checks
//! everything: does the workload exist, does it have the lens, what do the policies
//! say, what is the answer, does it need enforcing. Running it twice on unchanged
//! input writes nothing new, so sweeps, events, retries and replays are all safe.

mod calculate;
mod enforce;
mod plan;
mod undescribable;

pub use plan::WorkloadPlan;

use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;
use tokio::sync::broadcast;
use tokio::time::Instant;
use tracing::Instrument;

use crate::control::{self, ControlState, Mode, Outcome, Plan, PolicySet, WorkloadFacts};
use crate::metrics::{Metrics, ReconcileLabels, StateLabels, TransitionLabels, TriggerKind};
use crate::queue::{Job, Stored, Target};
use crate::store::{ControlRow, Recording, Store, TransitionRow, Written};
use crate::wellarchitected::{ErrorKind, WellArchitected};
use crate::workload::{Trigger, Workload};

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
}

/// The part of a scope a reconcile needs: its Tool client and its key.
pub struct ScopeRef<'a> {
    pub key: &'a str,
    pub wa: &'a WellArchitected,
}

/// What one evaluation is about: where it runs, the workload, and its cause.
struct Subject<'a> {
    scope: &'a ScopeRef<'a>,
    workload: &'a Workload,
    trigger: &'a Trigger,
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
        }
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

    /// With replicas sharing the database, claims the control so that only this
    /// replica evaluates it now, and re-reads it (another may just have written
    /// it). `None`: another replica holds it.
    async fn claim(&self, control: ControlRow) -> anyhow::Result<Option<ControlRow>> {
        let Some(replica) = &self.replica else {
            return Ok(Some(control));
        };

        let now = Utc::now();
        if !self
            .store
            .claim_control(&control.workload_arn, replica, now, now + CONTROL_CLAIM)
            .await?
        {
            self.metrics.claims_busy.inc();
            return Ok(None);
        }
        self.store.control(&control.workload_arn).await
    }

    /// [`Reconciler::claim`] for an evaluation of `trigger`. A sweep's evaluation
    /// claims nothing: the scope's sweep lease already makes this replica its
    /// only sweeper, and against an event evaluated elsewhere meanwhile the
    /// version check on the write arbitrates (the claim would only save work).
    async fn claim_for(
        &self,
        trigger: &Trigger,
        control: ControlRow,
    ) -> anyhow::Result<Option<ControlRow>> {
        match trigger {
            Trigger::Sweep => Ok(Some(control)),
            _ => self.claim(control).await,
        }
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
        let target = match target {
            Target::Answer(id) => self.as_recorded(scope.key, id).await?,
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
                    return self
                        .undescribable(scope, &trigger, &listed.id, Some(&listed), error)
                        .await;
                }
            },
            Target::Id(id) | Target::Answer(id) => match scope.wa.describe_workload(&id).await {
                Ok(workload) => (workload, Stored::Unread),
                Err(error) => {
                    return self.undescribable(scope, &trigger, &id, None, error).await;
                }
            },
        };
        if !workload.has_lens() {
            // Read with its sweep's page: no active control, nothing to remove.
            let inactive = match &stored {
                Stored::Absent => true,
                Stored::Control(control) => control.is_removed(),
                Stored::Unread => false,
            };
            if inactive {
                return Ok(Reconciled::Ignored);
            }
            return self
                .remove(
                    &workload.id,
                    "The wellarchitected lens is not applied to the workload",
                    &trigger,
                )
                .await;
        }
        let control = match stored {
            // Read with its sweep's page: an active control needs no query here.
            Stored::Control(control)
                if control.workload_arn == workload.arn && !control.is_removed() =>
            {
                *control
            }
            // Shown absent by its sweep's page (a sweep claims nothing): created
            // with its first verdict, in one transaction, by `record`.
            Stored::Absent if trigger == Trigger::Sweep => {
                ControlRow::unsaved(&workload, scope.key)
            }
            _ => self.open(&workload, scope.key, &trigger).await?,
        };
        let Some(control) = self.claim_for(&trigger, control).await? else {
            return Ok(Reconciled::Busy);
        };
        let subject = Subject {
            scope,
            workload: &workload,
            trigger: &trigger,
        };

        let empty = Default::default();
        let facts = WorkloadFacts {
            account_id: &workload.account_id,
            workload_id: &workload.id,
            workload_name: &workload.name,
            tags: workload.tags.as_ref().unwrap_or(&empty),
        };
        let now = Utc::now();
        let calculated = self.calculate(&workload, &facts, now).await;
        let policies = control::resolve_calculated(&self.policies, &facts, now, &calculated);
        let expected = match control::plan(policies) {
            Plan::Decided(outcome) => return self.record(&subject, &control, &outcome, None).await,
            Plan::Check(expected) => expected,
        };
        let observed = match scope.wa.get_answer(&workload.id).await {
            Ok(observed) => observed,
            // The answer is not there although the workload had the lens: it went
            // away since (confirmed by describing the workload), or the question is
            // missing from the lens (an error, not a removal).
            Err(error) if error.kind == ErrorKind::NotFound => {
                let control = self.saved(&subject, control).await?;
                return self
                    .answer_not_found(&subject, &control, &expected, error)
                    .await;
            }
            Err(error) => {
                let outcome = control::unreadable(&expected, &error.to_string());
                return self.record(&subject, &control, &outcome, None).await;
            }
        };
        let outcome = control::judge(&expected, &observed);
        if expected.mode == Mode::Enforce && outcome.state == ControlState::Alarm {
            let control = self.saved(&subject, control).await?;
            return self
                .enforce(&subject, control, &expected, &observed, outcome)
                .await;
        }
        self.record(&subject, &control, &outcome, None).await
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
        let control = match self.store.control_by_workload_id(&id).await? {
            Some(control) if !control.is_removed() && control.scanned_by == scope_key => control,
            _ => return Ok(Target::Id(id)),
        };
        let workload = Workload {
            arn: control.workload_arn.clone(),
            id,
            name: control.workload_name.clone(),
            account_id: control.account_id.clone(),
            region: control.region.clone(),
            lenses: vec![control::policy::LENS_ALIAS.to_owned()],
            tags: None,
            data: None,
        };
        Ok(Target::Listed(workload, Stored::Control(Box::new(control))))
    }

    async fn record(
        &self,
        subject: &Subject<'_>,
        control: &ControlRow,
        outcome: &Outcome,
        enforced: Option<&[String]>,
    ) -> anyhow::Result<Reconciled> {
        let workload = subject.workload;
        let mut details = outcome.details.clone();
        // Policy tags as read, so `explain` can show the hierarchy of this evaluation.
        if let (Some(prefix), Some(tags)) = (&self.policies.tag_prefix, &workload.tags) {
            details.policy_tags = tags
                .iter()
                .filter(|(key, _)| key.starts_with(prefix.as_str()))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
        }
        // The description when every evaluation reads one (tag or calculated
        // policies), so `details` does not change with what triggered it.
        if self.tags_enabled || self.calculates {
            details.resource = workload.data.clone();
        }
        let details = serde_json::to_value(details.bounded()).context("serialize details")?;
        let recording = Recording {
            workload,
            scanned_by: subject.scope.key,
            state: outcome.state,
            reason: &outcome.reason,
            details: &details,
            trigger: subject.trigger,
            enforced,
            at: Utc::now(),
        };
        self.metrics
            .evaluations
            .get_or_create(&StateLabels {
                state: outcome.state,
            })
            .inc();
        // An unsaved control (its sweep's page read showed none) is created
        // with this verdict, in the same transaction.
        let written = if control.is_unsaved() {
            match self.store.create_and_record(&recording).await? {
                Some((opened, written)) => {
                    self.announce(opened);
                    written
                }
                // Another replica's sweep created it, and records it.
                None => Written::Conflict,
            }
        } else {
            self.store.record(control, &recording).await?
        };
        match written {
            Written::Conflict => {
                self.metrics.write_conflicts.inc();
                Ok(Reconciled::Superseded)
            }
            Written::Unchanged => Ok(Reconciled::Evaluated(outcome.state)),
            Written::Transition(transition) => {
                self.announce(*transition);
                Ok(Reconciled::Evaluated(outcome.state))
            }
        }
    }

    /// The control in the database: an unsaved one is created (in `tbd`) for
    /// the paths that write more than its verdict.
    async fn saved(
        &self,
        subject: &Subject<'_>,
        control: ControlRow,
    ) -> anyhow::Result<ControlRow> {
        if !control.is_unsaved() {
            return Ok(control);
        }
        self.open(subject.workload, subject.scope.key, subject.trigger)
            .await
    }

    /// `workload`'s active control, created or revived (in `tbd`, announced) if
    /// it has none.
    async fn open(
        &self,
        workload: &Workload,
        scope_key: &str,
        trigger: &Trigger,
    ) -> anyhow::Result<ControlRow> {
        let (control, opened) = self
            .store
            .open_control(workload, scope_key, trigger, Utc::now())
            .await?;
        if let Some(transition) = opened {
            self.announce(transition);
        }
        Ok(control)
    }

    async fn remove(
        &self,
        workload_id: &str,
        reason: &str,
        trigger: &Trigger,
    ) -> anyhow::Result<Reconciled> {
        match self.store.control_by_workload_id(workload_id).await? {
            Some(control) if !control.is_removed() => self.retire(&control, reason, trigger).await,
            _ => Ok(Reconciled::Ignored),
        }
    }

    /// Marks `control` removed (recording and announcing the transition).
    pub async fn retire(
        &self,
        control: &ControlRow,
        reason: &str,
        trigger: &Trigger,
    ) -> anyhow::Result<Reconciled> {
        match self
            .store
            .remove(control, reason, trigger, Utc::now())
            .await?
        {
            Written::Conflict => Ok(Reconciled::Superseded),
            Written::Transition(transition) => {
                self.announce(*transition);
                Ok(Reconciled::Removed)
            }
            Written::Unchanged => Ok(Reconciled::Removed),
        }
    }

    /// GetAnswer said "not found" for a workload listed with the lens: remove the
    /// control only if the workload or its lens is really gone.
    async fn answer_not_found(
        &self,
        subject: &Subject<'_>,
        control: &ControlRow,
        expected: &control::Expected,
        error: crate::wellarchitected::WaError,
    ) -> anyhow::Result<Reconciled> {
        let id = &subject.workload.id;
        match subject.scope.wa.describe_workload(id).await {
            Ok(workload) if workload.has_lens() => {
                let outcome = control::unreadable(
                    expected,
                    &format!("the question is not in the lens: {error}"),
                );
                self.record(subject, control, &outcome, None).await
            }
            Ok(_) => {
                self.remove(
                    id,
                    "The wellarchitected lens is not applied to the workload",
                    subject.trigger,
                )
                .await
            }
            Err(gone) => {
                self.undescribable(subject.scope, subject.trigger, id, None, gone)
                    .await
            }
        }
    }

    fn announce(&self, transition: TransitionRow) {
        // States are written by this code, so every one parses.
        if let Ok(to_state) = transition.to_state.parse::<ControlState>() {
            let labels = TransitionLabels {
                to_state,
                muted: transition.muted,
            };
            self.metrics.transitions.get_or_create(&labels).inc();
        }
        tracing::info!(
            workload_id = %transition.workload_id,
            workload_arn = %transition.workload_arn,
            from_state = transition.from_state.as_deref().unwrap_or("none"),
            to_state = %transition.to_state,
            reason = %transition.reason,
            trigger = %transition.trigger,
            event_id = transition.event_id.as_deref(),
            transition_id = transition.id,
            "control state changed"
        );
        // Nobody listening is fine: the database is the record.
        let _ = self.transitions.send(transition);
    }
}
