//! Lock-free call counters (one atomic per operation × outcome).

use std::sync::atomic::{AtomicU64, Ordering};

use super::types::{CallStats, OutcomeCounts};

/// The simulated operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

impl Op {
    pub const ALL: [Op; 9] = [
        Op::ListWorkloads,
        Op::GetWorkload,
        Op::GetAnswer,
        Op::UpdateAnswer,
        Op::ListTagsForResource,
        Op::TagResource,
        Op::UntagResource,
        Op::UpdateWorkload,
        Op::DeleteWorkload,
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
        }
    }

    /// The writes whose model lists ConflictException, so injected 409s apply.
    pub fn can_conflict(self) -> bool {
        matches!(
            self,
            Op::UpdateAnswer | Op::UpdateWorkload | Op::DeleteWorkload
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

#[derive(Default)]
pub struct Stats {
    counts: [[AtomicU64; OUTCOMES]; Op::ALL.len()],
}

impl Stats {
    pub fn record(&self, op: Op, outcome: Outcome) {
        self.counts[op as usize][outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn reset(&self) {
        self.counts
            .iter()
            .flatten()
            .for_each(|c| c.store(0, Ordering::Relaxed));
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
        s.record(Op::GetAnswer, Outcome::Ok);
        s.record(Op::GetAnswer, Outcome::Throttled);
        s.record(Op::ListWorkloads, Outcome::Ok);
        let snap = s.snapshot();
        assert_eq!(snap.total, 3);
        assert_eq!(snap.outcomes.ok, 2);
        assert_eq!(snap.operation("GetAnswer").total, 2);
        assert_eq!(snap.operation("GetAnswer").throttled, 1);
        assert_eq!(snap.operations.len(), Op::ALL.len());
        s.reset();
        assert_eq!(s.snapshot().total, 0);
    }
}
