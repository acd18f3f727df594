//! Where the evaluator's verdicts become writes: every write of a control goes
//! through [`Reconciler::apply`] (to [`Store::apply`](crate::store::Store::apply)),
//! which announces what committed. Also the two things an evaluation needs
//! written before its verdict: the control's row ([`Reconciler::open`]) and,
//! with replicas, its claim.

use chrono::Utc;

use super::{CONTROL_CLAIM, Reconciled, Reconciler, Subject};
use crate::control::{ControlState, LensStatus, Verdict};
use crate::metrics::{StateLabels, TransitionLabels};
use crate::store::{ControlKey, ControlRow, Effect, Evaluation, Known, TransitionRow};
use crate::workload::{Trigger, Workload};

impl Subject<'_> {
    /// What a verdict of this evaluation is about.
    pub(super) fn on(&self) -> Evaluation<'_> {
        Evaluation {
            workload: self.workload,
            scanned_by: self.scope.key,
            trigger: self.trigger,
            lens_status: self.lens_status.as_ref().map(LensStatus::as_str),
        }
    }
}

impl Reconciler {
    /// Writes `verdict` about `control`, the subject's control, announces the
    /// transitions it committed, and says how the evaluation ended.
    pub(super) async fn apply(
        &self,
        subject: &Subject<'_>,
        control: &Known,
        verdict: Verdict,
    ) -> anyhow::Result<Reconciled> {
        let key = subject.key();
        let control_type = &subject.control.control_type;
        self.apply_to(&subject.on(), (&key, control_type), control, verdict)
            .await
    }

    /// [`Reconciler::apply`] of the control `key` (created, if it is
    /// [`Known::New`], of `control_type`) for the evaluation `on`.
    pub(super) async fn apply_to(
        &self,
        on: &Evaluation<'_>,
        (key, control_type): (&ControlKey, &str),
        control: &Known,
        verdict: Verdict,
    ) -> anyhow::Result<Reconciled> {
        let recording = matches!(verdict, Verdict::Record { .. });
        let verdict = self.in_context(verdict, on.workload);
        let applied = self
            .store
            .apply_of(key, control_type, control, verdict, on)
            .await?;
        for transition in applied.transitions {
            self.announce(transition);
        }
        Ok(match applied.effect {
            Effect::Recorded(state) => Reconciled::Evaluated(state),
            Effect::Removed => Reconciled::Removed,
            Effect::Ignored => Reconciled::Ignored,
            Effect::Busy => Reconciled::Busy,
            Effect::Conflict => {
                if recording {
                    self.metrics.write_conflicts.inc();
                }
                Reconciled::Superseded
            }
        })
    }

    /// [`Reconciler::apply`] to the control `key` as the database has it now
    /// (a removal acts on the current row, not one read earlier).
    pub(super) async fn apply_current(
        &self,
        key: &ControlKey,
        verdict: Verdict,
        trigger: &Trigger,
    ) -> anyhow::Result<Reconciled> {
        if verdict == Verdict::Ignore {
            return Ok(Reconciled::Ignored);
        }
        match self.store.control_of(key).await? {
            Some(control) => self.retire_with(control, verdict, trigger).await,
            None => Ok(Reconciled::Ignored),
        }
    }

    /// [`Reconciler::apply_current`] to every active control of `workload_id`
    /// (a workload that is gone takes all its questions' controls with it).
    pub(super) async fn apply_current_all(
        &self,
        workload_id: &str,
        verdict: Verdict,
        trigger: &Trigger,
    ) -> anyhow::Result<Reconciled> {
        let mut ended = super::lens::Ended::default();
        for control in self.store.controls_of_workload_id(workload_id).await? {
            if control.is_removed() {
                continue;
            }
            // Just read: as the database has it now.
            ended.add(self.retire_with(control, verdict.clone(), trigger).await?);
        }
        Ok(ended.into_reconciled())
    }

    /// Marks `control` removed (recording and announcing the transition).
    pub async fn retire(
        &self,
        control: &ControlRow,
        reason: &str,
        trigger: &Trigger,
    ) -> anyhow::Result<Reconciled> {
        let verdict = Verdict::remove(reason);
        self.retire_with(control.clone(), verdict, trigger).await
    }

    async fn retire_with(
        &self,
        control: ControlRow,
        verdict: Verdict,
        trigger: &Trigger,
    ) -> anyhow::Result<Reconciled> {
        let workload = workload_of(&control);
        let (key, scanned_by) = (control.key(), control.scanned_by.clone());
        let control_type = control.control_type.clone();
        let on = Evaluation {
            workload: &workload,
            scanned_by: &scanned_by,
            trigger,
            lens_status: None,
        };
        let saved = Known::Saved(Box::new(control));
        self.apply_to(&on, (&key, &control_type), &saved, verdict)
            .await
    }

    /// An outcome to record as this evaluation read it: with the policy tags
    /// (so `explain` can show the hierarchy) and, when every evaluation reads a
    /// description (tag or calculated policies), that description, so `details`
    /// does not change with what triggered it. Counted as an evaluation.
    fn in_context(&self, verdict: Verdict, workload: &Workload) -> Verdict {
        let Verdict::Record {
            mut outcome,
            enforced,
        } = verdict
        else {
            return verdict;
        };
        if let (Some(prefix), Some(tags)) = (&self.policies.tag_prefix, &workload.tags) {
            outcome.details.policy_tags = tags
                .iter()
                .filter(|(key, _)| key.starts_with(prefix.as_str()))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect();
        }
        if self.tags_enabled || self.calculates {
            outcome.details.resource = workload.data.clone();
        }
        self.metrics
            .evaluations
            .get_or_create(&StateLabels {
                state: outcome.state,
            })
            .inc();
        Verdict::Record { outcome, enforced }
    }

    /// The control in the database: a [`Known::New`] one is created (in `tbd`)
    /// for the paths that write more than its verdict.
    pub(super) async fn saved(
        &self,
        subject: &Subject<'_>,
        control: Known,
    ) -> anyhow::Result<ControlRow> {
        match control {
            Known::Saved(control) => Ok(*control),
            Known::New => self.open(subject).await,
        }
    }

    /// The subject's active control, created or revived (in `tbd`, announced)
    /// if it has none.
    pub(super) async fn open(&self, subject: &Subject<'_>) -> anyhow::Result<ControlRow> {
        let (control, opened) = self
            .store
            .open_control_of(
                &subject.key(),
                &subject.control.control_type,
                subject.workload,
                subject.scope.key,
                subject.trigger,
                Utc::now(),
            )
            .await?;
        if let Some(transition) = opened {
            self.announce(transition);
        }
        Ok(control)
    }

    /// With replicas sharing the database, claims the control so that only this
    /// replica evaluates it now, and re-reads it (another may just have written
    /// it). `None`: another replica holds it.
    pub(super) async fn claim(&self, control: ControlRow) -> anyhow::Result<Option<ControlRow>> {
        let Some(replica) = &self.replica else {
            return Ok(Some(control));
        };

        let now = Utc::now();
        if !self
            .store
            .claim_control(&control.key(), replica, now, now + CONTROL_CLAIM)
            .await?
        {
            self.metrics.claims_busy.inc();
            return Ok(None);
        }
        self.store.control_of(&control.key()).await
    }

    /// [`Reconciler::claim`] for an evaluation of `trigger`. A sweep's evaluation
    /// claims nothing: the scope's sweep lease already makes this replica its
    /// only sweeper, and against an event evaluated elsewhere meanwhile the
    /// version check on the write arbitrates (the claim would only save work).
    /// A control not saved yet has nothing to claim (only a sweep holds one).
    pub(super) async fn claim_for(
        &self,
        trigger: &Trigger,
        control: Known,
    ) -> anyhow::Result<Option<Known>> {
        match (trigger, control) {
            (Trigger::Sweep, control) | (_, control @ Known::New) => Ok(Some(control)),
            (_, Known::Saved(control)) => Ok(self
                .claim(*control)
                .await?
                .map(|control| Known::Saved(Box::new(control)))),
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

/// The workload as its control knows it (no lenses, tags or description): for
/// writes about a workload that cannot be described now.
pub(super) fn workload_of(control: &ControlRow) -> Workload {
    Workload {
        arn: control.workload_arn.clone(),
        id: control.workload_id.clone(),
        name: control.workload_name.clone(),
        account_id: control.account_id.clone(),
        region: control.region.clone(),
        lenses: Vec::new(),
        tags: None,
        data: None,
    }
}
