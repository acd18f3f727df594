//! Lock-free call counters (one atomic per operation × outcome).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::store::is_workload_id;
use super::types::{CallStats, OutcomeCounts};

/// The simulated operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    ListWorkloads,
    GetWorkload,
    GetAnswer,
    UpdateAnswer,
    ListTagsForResource,
    TagResource,
    UntagResource,
    UpdateWorkload,
    DeleteWorkload,
    CreateWorkload,
    ListAnswers,
    ListLensReviews,
    GetLensReview,
    UpdateLensReview,
    UpgradeLensReview,
    AssociateLenses,
    DisassociateLenses,
    ListLenses,
    GetLens,
    CreateMilestone,
    ListMilestones,
    GetMilestone,
    ListNotifications,
}

impl Op {
    pub const ALL: [Op; 23] = [
        Op::ListWorkloads,
        Op::GetWorkload,
        Op::GetAnswer,
        Op::UpdateAnswer,
        Op::ListTagsForResource,
        Op::TagResource,
        Op::UntagResource,
        Op::UpdateWorkload,
        Op::DeleteWorkload,
        Op::CreateWorkload,
        Op::ListAnswers,
        Op::ListLensReviews,
        Op::GetLensReview,
        Op::UpdateLensReview,
        Op::UpgradeLensReview,
        Op::AssociateLenses,
        Op::DisassociateLenses,
        Op::ListLenses,
        Op::GetLens,
        Op::CreateMilestone,
        Op::ListMilestones,
        Op::GetMilestone,
        Op::ListNotifications,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Op::ListWorkloads => "ListWorkloads",
            Op::GetWorkload => "GetWorkload",
            Op::GetAnswer => "GetAnswer",
            Op::UpdateAnswer => "UpdateAnswer",
            Op::ListTagsForResource => "ListTagsForResource",
            Op::TagResource => "TagResource",
            Op::UntagResource => "UntagResource",
            Op::UpdateWorkload => "UpdateWorkload",
            Op::DeleteWorkload => "DeleteWorkload",
            Op::CreateWorkload => "CreateWorkload",
            Op::ListAnswers => "ListAnswers",
            Op::ListLensReviews => "ListLensReviews",
            Op::GetLensReview => "GetLensReview",
            Op::UpdateLensReview => "UpdateLensReview",
            Op::UpgradeLensReview => "UpgradeLensReview",
            Op::AssociateLenses => "AssociateLenses",
            Op::DisassociateLenses => "DisassociateLenses",
            Op::ListLenses => "ListLenses",
            Op::GetLens => "GetLens",
            Op::CreateMilestone => "CreateMilestone",
            Op::ListMilestones => "ListMilestones",
            Op::GetMilestone => "GetMilestone",
            Op::ListNotifications => "ListNotifications",
        }
    }

    /// The writes whose model lists ConflictException, so injected 409s apply.
    pub fn can_conflict(self) -> bool {
        matches!(
            self,
            Op::UpdateAnswer
                | Op::UpdateWorkload
                | Op::DeleteWorkload
                | Op::CreateWorkload
                | Op::UpdateLensReview
                | Op::UpgradeLensReview
                | Op::AssociateLenses
                | Op::DisassociateLenses
                | Op::CreateMilestone
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Throttled,
    Error,
    Denied,
    NotFound,
    Validation,
    Conflict,
}

const OUTCOMES: usize = 7;

/// How many (workload, operation) pairs are counted per workload; calls naming
/// further workloads (a flood of made-up ids) still count in the totals.
pub const MAX_COUNTED_WORKLOAD_OPS: usize = 200_000;

#[derive(Default)]
pub struct Stats {
    counts: [[AtomicU64; OUTCOMES]; Op::ALL.len()],
    per_workload: Mutex<PerWorkload>,
}

/// Calls per workload id and operation, whatever their outcome. Keyed by id
/// first, so counting a call to a workload already seen looks it up by `&str`
/// and allocates nothing (the simulator's CPU per call is in the fleet bench's
/// measurement).
#[derive(Default)]
struct PerWorkload {
    by_id: HashMap<String, Vec<(Op, u64)>>,
    /// (workload, operation) pairs counted, at most [`MAX_COUNTED_WORKLOAD_OPS`].
    pairs: usize,
}

impl Stats {
    pub fn record(&self, op: Op, outcome: Outcome, workload: Option<&str>) {
        self.counts[op as usize][outcome as usize].fetch_add(1, Ordering::Relaxed);
        // Only well-formed ids: a made-up path label is no workload, and its length
        // is the caller's to choose.
        if let Some(id) = workload.filter(|id| is_workload_id(id)) {
            let mut map = self.per_workload.lock().unwrap_or_else(|e| e.into_inner());
            let PerWorkload { by_id, pairs } = &mut *map;
            if let Some(n) = by_id
                .get_mut(id)
                .and_then(|ops| ops.iter_mut().find(|(o, _)| *o == op))
            {
                n.1 += 1;
            } else if *pairs < MAX_COUNTED_WORKLOAD_OPS {
                *pairs += 1;
                by_id.entry(id.to_owned()).or_default().push((op, 1));
            }
        }
    }

    /// Calls naming `workload` since the last reset, by operation name.
    pub fn for_workload(&self, workload: &str) -> BTreeMap<String, u64> {
        let map = self.per_workload.lock().unwrap_or_else(|e| e.into_inner());
        map.by_id
            .get(workload)
            .into_iter()
            .flatten()
            .map(|(op, n)| (op.name().to_owned(), *n))
            .collect()
    }

    pub fn reset(&self) {
        self.counts
            .iter()
            .flatten()
            .for_each(|c| c.store(0, Ordering::Relaxed));
        *self.per_workload.lock().unwrap_or_else(|e| e.into_inner()) = PerWorkload::default();
    }

    pub fn snapshot(&self) -> CallStats {
        let mut stats = CallStats::default();
        for op in Op::ALL {
            let c = |o: Outcome| self.counts[op as usize][o as usize].load(Ordering::Relaxed);
            let mut counts = OutcomeCounts {
                total: 0,
                ok: c(Outcome::Ok),
                throttled: c(Outcome::Throttled),
                error: c(Outcome::Error),
                denied: c(Outcome::Denied),
                not_found: c(Outcome::NotFound),
                validation: c(Outcome::Validation),
                conflict: c(Outcome::Conflict),
            };
            counts.total = counts.ok
                + counts.throttled
                + counts.error
                + counts.denied
                + counts.not_found
                + counts.validation
                + counts.conflict;
            add(&mut stats.outcomes, &counts);
            stats.operations.insert(op.name().to_string(), counts);
        }
        stats.total = stats.outcomes.total;
        stats
    }
}

fn add(sum: &mut OutcomeCounts, c: &OutcomeCounts) {
    sum.total += c.total;
    sum.ok += c.ok;
    sum.throttled += c.throttled;
    sum.error += c.error;
    sum.denied += c.denied;
    sum.not_found += c.not_found;
    sum.validation += c.validation;
    sum.conflict += c.conflict;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_reset() {
        let s = Stats::default();
        let w1 = "0123456789abcdef0123456789abcdef";
        s.record(Op::GetAnswer, Outcome::Ok, Some(w1));
        s.record(Op::GetAnswer, Outcome::Throttled, Some(w1));
        s.record(Op::ListWorkloads, Outcome::Ok, None);
        s.record(
            Op::GetAnswer,
            Outcome::Validation,
            Some(&"x".repeat(10_000)),
        );
        let snap = s.snapshot();
        assert_eq!(snap.total, 4);
        assert_eq!(snap.outcomes.ok, 2);
        assert_eq!(
            s.per_workload.lock().unwrap().pairs,
            1,
            "only well-formed ids"
        );
        assert_eq!(snap.operation("GetAnswer").total, 3);
        assert_eq!(snap.operation("GetAnswer").throttled, 1);
        assert_eq!(snap.operations.len(), Op::ALL.len());
        assert_eq!(
            s.for_workload(w1),
            BTreeMap::from([("GetAnswer".to_owned(), 2)])
        );
        assert!(s.for_workload("w2").is_empty());
        s.reset();
        assert_eq!(s.snapshot().total, 0);
        assert!(s.for_workload(w1).is_empty());
    }

    #[test]
    fn pairs_beyond_the_cap_count_only_in_the_totals() {
        let s = Stats::default();
        let id = |n: usize| format!("{n:032x}");
        for n in 0..MAX_COUNTED_WORKLOAD_OPS {
            s.record(Op::GetAnswer, Outcome::Ok, Some(&id(n)));
        }
        s.record(Op::GetWorkload, Outcome::Ok, Some(&id(0)));
        s.record(
            Op::GetAnswer,
            Outcome::Ok,
            Some(&id(MAX_COUNTED_WORKLOAD_OPS)),
        );
        s.record(Op::GetAnswer, Outcome::Throttled, Some(&id(0)));
        assert_eq!(s.snapshot().total, MAX_COUNTED_WORKLOAD_OPS as u64 + 3);
        assert_eq!(
            s.for_workload(&id(0)),
            BTreeMap::from([("GetAnswer".to_owned(), 2)]),
            "a counted pair keeps counting; a new one is not kept"
        );
        assert!(s.for_workload(&id(MAX_COUNTED_WORKLOAD_OPS)).is_empty());
        s.reset();
        s.record(Op::GetWorkload, Outcome::Ok, Some(&id(0)));
        assert_eq!(
            s.for_workload(&id(0)),
            BTreeMap::from([("GetWorkload".to_owned(), 1)]),
            "a reset frees the cap"
        );
    }
}
