//! What `rel04d run --once` reports: one summary line, and a failure when the
//! sweep did not record the whole fleet.

use crate::sweep::SweepReport;

/// What `run --once` did, over every scope: printed as one line, and a failure
/// (non-zero exit) when it did not record the whole fleet — a scope that could
/// not be listed, or an evaluation that could not be recorded.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct OnceSummary {
    scopes: usize,
    listed: usize,
    evaluated: usize,
    removed: usize,
    failed: usize,
    listing_errors: Vec<String>,
}

impl OnceSummary {
    pub fn of(reports: &[SweepReport]) -> OnceSummary {
        let mut summary = OnceSummary {
            scopes: reports.len(),
            ..Default::default()
        };
        for report in reports {
            summary.listed += report.listed;
            summary.evaluated += report.evaluated;
            summary.removed += report.removed;
            summary.failed += report.failed;
            if let Some(error) = &report.listing_error {
                summary
                    .listing_errors
                    .push(format!("{}: {error}", report.scope));
            }
        }
        summary
    }

    pub fn into_result(self) -> anyhow::Result<()> {
        let unlisted = self.listing_errors.len();
        anyhow::ensure!(
            self.failed == 0 && unlisted == 0,
            "the sweep was incomplete: {} evaluation(s) not recorded, {unlisted} of {} scope(s) not listed{}",
            self.failed,
            self.scopes,
            if unlisted == 0 {
                String::new()
            } else {
                format!(" ({})", self.listing_errors.join("; "))
            }
        );
        Ok(())
    }
}

impl std::fmt::Display for OnceSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run --once: {} scope(s) swept, {} workload(s) listed, {} evaluated, {} removed, {} failed to record, {} listing error(s)",
            self.scopes,
            self.listed,
            self.evaluated,
            self.removed,
            self.failed,
            self.listing_errors.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(scope: &str, evaluated: usize, failed: usize, listing: Option<&str>) -> SweepReport {
        SweepReport {
            scope: scope.to_owned(),
            listed: evaluated + failed,
            evaluated,
            failed,
            listing_error: listing.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_sweep_succeeds() {
        let summary = OnceSummary::of(&[report("a", 3, 0, None), report("b", 2, 0, None)]);
        assert_eq!(
            summary.to_string(),
            "run --once: 2 scope(s) swept, 5 workload(s) listed, 5 evaluated, 0 removed, 0 failed to record, 0 listing error(s)"
        );
        summary.into_result().unwrap();
    }

    #[test]
    fn unrecorded_evaluations_or_unlisted_scopes_fail() {
        let failed = OnceSummary::of(&[report("a", 6, 94, None)]).into_result();
        assert!(
            format!("{:#}", failed.unwrap_err()).contains("94 evaluation(s) not recorded"),
            "names the failures"
        );
        let unlisted = OnceSummary::of(&[
            report("a", 1, 0, None),
            report("b", 0, 0, Some("connection refused")),
        ]);
        let message = format!("{:#}", unlisted.into_result().unwrap_err());
        assert!(
            message.contains("1 of 2 scope(s) not listed (b: connection refused)"),
            "{message}"
        );
    }
}
