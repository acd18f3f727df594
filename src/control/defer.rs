//! `enforce.defer_after_human_change`: whether Enforce must leave an answer alone
//! because someone other than rel04d changed it recently. Pure: the caller reads
//! the Tool's `UpdatedAt` and rel04d's own last write.

use chrono::{DateTime, Duration, Utc};

/// rel04d records its write before and after the call, both on its own clock;
/// the Tool stamps `UpdatedAt` on its clock, in between. This much difference
/// between the two clocks (or an unfinished record after a crash mid-call) still
/// counts as rel04d's own write.
pub const OWN_WRITE_SLACK: Duration = Duration::seconds(5);

/// Someone else's recent change: Enforce waits until `resumes_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deferral {
    pub changed_at: DateTime<Utc>,
    pub resumes_at: DateTime<Utc>,
}

impl Deferral {
    /// The alarm's reason, extended with why nothing was written and until when.
    pub fn reason(&self, alarm_reason: &str) -> String {
        format!(
            "{alarm_reason}; Enforce deferred: the answer was {CHANGED_AT}{}{RESUMES_AT}{}",
            self.changed_at.to_rfc3339(),
            self.resumes_at.to_rfc3339()
        )
    }
}

const CHANGED_AT: &str = "changed by someone other than rel04d at ";
const RESUMES_AT: &str = "; enforcement resumes at ";

impl Deferral {
    /// The deferral a recorded reason (from [`Deferral::reason`]) states, if any:
    /// how readers of the stored control (GraphQL) tell a deferred alarm.
    pub fn from_reason(reason: &str) -> Option<Deferral> {
        let (_, rest) = reason.rsplit_once(CHANGED_AT)?;
        let (changed_at, resumes_at) = rest.split_once(RESUMES_AT)?;
        let parse = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| at.with_timezone(&Utc))
        };
        Some(Deferral {
            changed_at: parse(changed_at)?,
            resumes_at: parse(resumes_at)?,
        })
    }
}

/// Whether to defer: the workload changed (`updated_at`) after rel04d's own last
/// write (`own_write`, if any), less than `window` before `now`.
pub fn deferral(
    updated_at: Option<DateTime<Utc>>,
    own_write: Option<DateTime<Utc>>,
    window: Duration,
    now: DateTime<Utc>,
) -> Option<Deferral> {
    let changed_at = updated_at?;
    if window <= Duration::zero() {
        return None;
    }
    if own_write.is_some_and(|own| changed_at <= own + OWN_WRITE_SLACK) {
        return None;
    }
    let resumes_at = changed_at + window;
    (now < resumes_at).then_some(Deferral {
        changed_at,
        resumes_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(seconds)
    }

    const DAY: i64 = 86_400;

    #[test]
    fn a_change_by_someone_else_inside_the_window_defers_until_it_ends() {
        let got = deferral(Some(at(1000)), None, Duration::seconds(DAY), at(2000));
        assert_eq!(
            got,
            Some(Deferral {
                changed_at: at(1000),
                resumes_at: at(1000 + DAY)
            })
        );
    }

    #[test]
    fn an_older_change_or_no_window_does_not_defer() {
        let window = Duration::seconds(DAY);
        assert_eq!(deferral(Some(at(0)), None, window, at(DAY)), None);
        assert_eq!(deferral(Some(at(0)), None, Duration::zero(), at(1)), None);
        assert_eq!(deferral(None, None, window, at(1)), None);
    }

    #[test]
    fn rel04ds_own_write_is_not_someone_elses_change() {
        let window = Duration::seconds(DAY);
        // Stamped by the Tool just before or a little after rel04d recorded it.
        assert_eq!(
            deferral(Some(at(999)), Some(at(1000)), window, at(1001)),
            None
        );
        assert_eq!(
            deferral(Some(at(1004)), Some(at(1000)), window, at(1005)),
            None
        );
        // A change after rel04d's write is someone else's.
        assert!(deferral(Some(at(1060)), Some(at(1000)), window, at(1100)).is_some());
    }

    #[test]
    fn the_reason_says_when_enforcement_resumes() {
        let deferral = deferral(Some(at(0)), None, Duration::seconds(DAY), at(1)).unwrap();
        let reason = deferral.reason("identify is not selected");
        assert!(
            reason.starts_with("identify is not selected; Enforce deferred"),
            "{reason}"
        );
        assert!(
            reason.contains("resumes at 1970-01-02T00:00:00+00:00"),
            "{reason}"
        );
        assert_eq!(Deferral::from_reason(&reason), Some(deferral));
        assert_eq!(Deferral::from_reason("identify is not selected"), None);
    }
}
