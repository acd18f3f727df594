//! Guardrails' date/time filter values: `timestamp:>T-1d`,
//! `stateChangeTimestamp:>=2026-01-31`, `createTimestamp:<T-2w,>T-4w` (commas
//! join bounds into a range, as Guardrails' `<T+7d,>now` does).
//!
//! A bound is an operator (`>`, `>=`, `<`, `<=`) and a time: an ISO date or
//! datetime (UTC unless it says otherwise), `now`, `yesterday`, `tomorrow`, or
//! `T±<n><unit>` with units `w`, `d`, `h`, `m`, `s`, `ms`. Times resolve against
//! the clock when the filter is parsed and are compared as the stored RFC 3339
//! strings (microseconds, `Z`), so the comparison is the database's own.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, SecondsFormat, Utc};

/// Which of a row's timestamps a time term compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeField {
    /// `timestamp`: the latest change of any kind.
    Timestamp,
    StateChange,
    Create,
    Update,
}

impl TimeField {
    pub fn parse(name: &str) -> Option<TimeField> {
        Some(match name {
            "timestamp" => TimeField::Timestamp,
            "stateChangeTimestamp" => TimeField::StateChange,
            "createTimestamp" => TimeField::Create,
            "updateTimestamp" => TimeField::Update,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            TimeField::Timestamp => "timestamp",
            TimeField::StateChange => "stateChangeTimestamp",
            TimeField::Create => "createTimestamp",
            TimeField::Update => "updateTimestamp",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    pub fn sql(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
        }
    }
}

/// One side of a range: the stored timestamp compared with `at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    pub op: Op,
    /// RFC 3339, microseconds, `Z`: the form the store writes.
    pub at: String,
}

impl Bound {
    /// Whether the stored timestamp `value` is within this bound.
    pub fn holds(&self, value: &str) -> bool {
        match self.op {
            Op::Gt => value > self.at.as_str(),
            Op::Ge => value >= self.at.as_str(),
            Op::Lt => value < self.at.as_str(),
            Op::Le => value <= self.at.as_str(),
        }
    }
}

const FORMS: &str = "an operator (>, >=, <, <=) then an ISO date or datetime, now, yesterday, \
     tomorrow or T-<n><unit> (units w, d, h, m, s, ms), e.g. >T-1d";

/// The bounds of a time term's value, all of which must hold.
pub fn bounds(value: &str, now: DateTime<Utc>) -> Result<Vec<Bound>, String> {
    value.split(',').map(|raw| bound(raw, now)).collect()
}

fn bound(raw: &str, now: DateTime<Utc>) -> Result<Bound, String> {
    let (op, time) = if let Some(rest) = raw.strip_prefix(">=") {
        (Op::Ge, rest)
    } else if let Some(rest) = raw.strip_prefix("<=") {
        (Op::Le, rest)
    } else if let Some(rest) = raw.strip_prefix('>') {
        (Op::Gt, rest)
    } else if let Some(rest) = raw.strip_prefix('<') {
        (Op::Lt, rest)
    } else {
        return Err(format!("time {raw:?} has no operator; expected {FORMS}"));
    };
    let at =
        instant(time, now).ok_or_else(|| format!("{time:?} is not a time; expected {FORMS}"))?;
    Ok(Bound {
        op,
        at: at.to_rfc3339_opts(SecondsFormat::Micros, true),
    })
}

fn instant(time: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    match time {
        "now" => return Some(now),
        "yesterday" => return Some(now - Duration::days(1)),
        "tomorrow" => return Some(now + Duration::days(1)),
        _ => {}
    }
    if let Some(relative) = time.strip_prefix('T') {
        return relative_to(relative, now);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(time) {
        return Some(at.with_timezone(&Utc));
    }
    for form in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(time, form) {
            return Some(at.and_utc());
        }
    }
    NaiveDate::parse_from_str(time, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|at| at.and_utc())
}

/// `-15m`, `+3d`: an offset from `now`. Counts are bounded so that the sum
/// cannot overflow (a million weeks is some 19,000 years).
fn relative_to(offset: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let (sign, rest) = match offset.as_bytes().first()? {
        b'-' => (-1, &offset[1..]),
        b'+' => (1, &offset[1..]),
        _ => return None,
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (count, unit) = rest.split_at(digits);
    if count.is_empty() || count.len() > 7 {
        return None;
    }
    let n: i64 = sign * count.parse::<i64>().ok()?;
    let span = match unit {
        "w" => Duration::weeks(n),
        "d" => Duration::days(n),
        "h" => Duration::hours(n),
        "m" => Duration::minutes(n),
        "s" => Duration::seconds(n),
        "ms" => Duration::milliseconds(n),
        _ => return None,
    };
    now.checked_add_signed(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-03-10T12:00:00Z".parse().unwrap()
    }

    fn one(value: &str) -> Bound {
        let mut b = bounds(value, now()).unwrap();
        assert_eq!(b.len(), 1);
        b.remove(0)
    }

    #[test]
    fn relative_and_keyword_times_resolve_against_now() {
        let cases = [
            (">T-15m", Op::Gt, "2026-03-10T11:45:00.000000Z"),
            (">=T-1d", Op::Ge, "2026-03-09T12:00:00.000000Z"),
            ("<T-2w", Op::Lt, "2026-02-24T12:00:00.000000Z"),
            ("<=T+3h", Op::Le, "2026-03-10T15:00:00.000000Z"),
            (">T-90s", Op::Gt, "2026-03-10T11:58:30.000000Z"),
            (">T-250ms", Op::Gt, "2026-03-10T11:59:59.750000Z"),
            (">yesterday", Op::Gt, "2026-03-09T12:00:00.000000Z"),
            ("<tomorrow", Op::Lt, "2026-03-11T12:00:00.000000Z"),
            ("<now", Op::Lt, "2026-03-10T12:00:00.000000Z"),
        ];
        for (value, op, at) in cases {
            assert_eq!(one(value), Bound { op, at: at.into() }, "{value}");
        }
    }

    #[test]
    fn absolute_times_in_every_documented_form() {
        let cases = [
            (">=2026-01-31", "2026-01-31T00:00:00.000000Z"),
            (">=2026-01-31T08:15", "2026-01-31T08:15:00.000000Z"),
            (">=2026-01-31T08:15:42", "2026-01-31T08:15:42.000000Z"),
            (">=2026-01-31T08:15:42.250", "2026-01-31T08:15:42.250000Z"),
            (">=2026-01-31T08:15:42.250Z", "2026-01-31T08:15:42.250000Z"),
            (">=2026-01-31T10:15:42+02:00", "2026-01-31T08:15:42.000000Z"),
        ];
        for (value, at) in cases {
            assert_eq!(one(value).at, at, "{value}");
        }
    }

    #[test]
    fn commas_make_a_range() {
        let range = bounds(">=2026-01-01,<2026-02-01", now()).unwrap();
        assert!(range.iter().all(|b| b.holds("2026-01-15T00:00:00.000000Z")));
        assert!(!range.iter().all(|b| b.holds("2026-02-01T00:00:00.000000Z")));
        assert!(range.iter().all(|b| b.holds("2026-01-01T00:00:00.000000Z")));
        assert!(!range.iter().all(|b| b.holds("2025-12-31T23:59:59.999999Z")));
    }

    #[test]
    fn unknown_units_and_forms_are_errors_naming_them() {
        for (value, named) in [
            (">T-15x", "\"T-15x\""),
            (">T-m", "\"T-m\""),
            (">T15m", "\"T15m\""),
            (">T-99999999d", "\"T-99999999d\""),
            ("T-1d", "\"T-1d\""),
            ("=2026-01-01", "\"=2026-01-01\""),
            (">2026-13-01", "\"2026-13-01\""),
            (">last week", "\"last week\""),
            (">", "\"\""),
        ] {
            let error = bounds(value, now()).unwrap_err();
            assert!(error.contains(named), "{value}: {error}");
        }
    }
}
