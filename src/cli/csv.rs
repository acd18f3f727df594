//! `--output csv` for `controls` and `history`: RFC 4180 (a header row, CRLF line
//! ends, a field quoted when it holds a comma, a quote or a line break, quotes
//! inside doubled), every row, full timestamps, for spreadsheets.

use std::io::Write;

use crate::store::{ControlRow, TransitionRow};

/// One field as RFC 4180 wants it.
fn field(value: &str) -> std::borrow::Cow<'_, str> {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\"")).into()
    } else {
        value.into()
    }
}

/// Writes the header and every row to `out`.
fn write_csv<W: Write>(out: &mut W, headers: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        cells.map(field).collect::<Vec<_>>().join(",") + "\r\n"
    };
    out.write_all(line(&mut headers.iter().copied()).as_bytes())?;
    for row in rows {
        out.write_all(line(&mut row.iter().map(String::as_str)).as_bytes())?;
    }
    out.flush()
}

const CONTROL_HEADERS: [&str; 11] = [
    "state",
    "muted",
    "workload_name",
    "workload_id",
    "workload_arn",
    "account_id",
    "region",
    "created_at",
    "updated_at",
    "evaluated_at",
    "reason",
];

fn control_record(c: &ControlRow) -> Vec<String> {
    vec![
        c.state.to_string(),
        c.muted.to_string(),
        c.workload_name.clone(),
        c.workload_id.clone(),
        c.workload_arn.clone(),
        c.account_id.clone(),
        c.region.clone(),
        c.created_at.clone(),
        c.updated_at.clone(),
        c.evaluated_at.clone().unwrap_or_default(),
        c.reason.clone(),
    ]
}

const TRANSITION_HEADERS: [&str; 13] = [
    "id",
    "occurred_at",
    "workload_id",
    "workload_arn",
    "account_id",
    "region",
    "from_state",
    "to_state",
    "trigger",
    "event_id",
    "action",
    "muted",
    "reason",
];

fn transition_record(t: &TransitionRow) -> Vec<String> {
    vec![
        t.id.to_string(),
        t.occurred_at.clone(),
        t.workload_id.clone(),
        t.workload_arn.clone(),
        t.account_id.clone(),
        t.region.clone(),
        t.from_state.clone().unwrap_or_default(),
        t.to_state.clone(),
        t.trigger.clone(),
        t.event_id.clone().unwrap_or_default(),
        t.action.clone().unwrap_or_default(),
        t.muted.to_string(),
        t.reason.clone(),
    ]
}

pub fn controls(rows: &[ControlRow]) -> anyhow::Result<()> {
    let records: Vec<Vec<String>> = rows.iter().map(control_record).collect();
    write_csv(&mut std::io::stdout().lock(), &CONTROL_HEADERS, &records)?;
    Ok(())
}

pub fn transitions(rows: &[TransitionRow]) -> anyhow::Result<()> {
    let records: Vec<Vec<String>> = rows.iter().map(transition_record).collect();
    write_csv(&mut std::io::stdout().lock(), &TRANSITION_HEADERS, &records)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(rows: &[Vec<String>]) -> String {
        let mut out = Vec::new();
        write_csv(&mut out, &["a", "b"], rows).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_fields_stay_bare_and_lines_end_with_crlf() {
        let rows = vec![vec!["ok".to_owned(), "2026-01-01T00:00:00Z".to_owned()]];
        assert_eq!(render(&rows), "a,b\r\nok,2026-01-01T00:00:00Z\r\n");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted_with_quotes_doubled() {
        let rows = vec![vec![
            "identify: True, idempotent: \"False\"".to_owned(),
            "line one\nline two\r\n".to_owned(),
        ]];
        assert_eq!(
            render(&rows),
            "a,b\r\n\"identify: True, idempotent: \"\"False\"\"\",\"line one\nline two\r\n\"\r\n"
        );
    }

    #[test]
    fn an_empty_field_is_empty() {
        let rows = vec![vec![String::new(), "x".to_owned()]];
        assert_eq!(render(&rows), "a,b\r\n,x\r\n");
    }
}
