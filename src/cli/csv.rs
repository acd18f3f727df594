//! `--output csv` for `controls` and `history`: RFC 4180 (a header row, CRLF line
//! ends, a field quoted when it holds a comma, a quote or a line break, quotes
//! inside doubled), every row, full timestamps, for spreadsheets.
//!
//! Every field goes through [`field`], the one writer of CSV cells, which also
//! defuses formulas: a workload's owner chooses its name (and, through tags and
//! notes, parts of reasons), and a spreadsheet runs a cell that begins with `=`,
//! `+`, `-` or `@` (or a tab or CR before one) as a formula — `=cmd|' /C calc'!A0`,
//! `+HYPERLINK(…)`. As OWASP advises, such a cell is written with a leading `'`,
//! which spreadsheets show as text. This applies to every cell, also those that
//! look like negative numbers: no column rel04d writes is a number that can be
//! negative, so nothing genuine is lost.

use std::borrow::Cow;
use std::io::Write;

use crate::store::{ControlRow, TransitionRow};

/// Whether a spreadsheet would read a cell starting with `value` as a formula.
fn is_formula(value: &str) -> bool {
    value.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// One field as RFC 4180 wants it, formulas defused.
fn field(value: &str) -> Cow<'_, str> {
    let value: Cow<'_, str> = if is_formula(value) {
        format!("'{value}").into()
    } else {
        value.into()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\"")).into()
    } else {
        value
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

// Columns are only ever added at the end, so consumers reading by position keep working.
const CONTROL_HEADERS: [&str; 14] = [
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
    "lens",
    "question_id",
    "lens_status",
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
        c.lens.clone(),
        c.question_id.clone(),
        c.lens_status.clone().unwrap_or_default(),
    ]
}

const TRANSITION_HEADERS: [&str; 15] = [
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
    "lens",
    "question_id",
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
        t.lens.clone(),
        t.question_id.clone(),
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
    fn cells_a_spreadsheet_would_run_as_formulas_are_text() {
        let cells = [
            "=cmd|' /C calc'!A0",
            "@SUM(1+9)*cmd",
            "-2+3+cmd",
            "+HYPERLINK(\"http://evil.example\",\"x\")",
            "\t=1+1",
            "\r=1+1",
        ];
        let rows = vec![cells.iter().map(|c| c.to_string()).collect()];
        let header = "a,b,c,d,e,f\r\n";
        let mut out = Vec::new();
        write_csv(&mut out, &["a", "b", "c", "d", "e", "f"], &rows).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "{header}'=cmd|' /C calc'!A0,'@SUM(1+9)*cmd,'-2+3+cmd,\
                 \"'+HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",'\t=1+1,\"'\r=1+1\"\r\n"
            )
        );
        // Inside a cell, the same characters are harmless and left alone.
        assert_eq!(field("a=b-c"), "a=b-c");
        assert_eq!(field("2026-01-01T00:00:00Z"), "2026-01-01T00:00:00Z");
    }

    /// A control's lens and question are the last columns (added at the end, so
    /// readers by position keep their columns).
    #[test]
    fn the_lens_and_question_are_the_last_columns() {
        let arn = "arn:aws:wellarchitected:us-east-1:111122223333:workload/w";
        let mut control =
            crate::securityhub::finding::tests::control(crate::control::ControlState::Ok);
        control.question_id = "data-retention".into();
        control.lens_status = Some("NOT_CURRENT".into());
        control.workload_arn = arn.into();
        let record = control_record(&control);
        assert_eq!(record.len(), CONTROL_HEADERS.len());
        assert_eq!(CONTROL_HEADERS[..11].last(), Some(&"reason"));
        assert_eq!(
            CONTROL_HEADERS[11..],
            ["lens", "question_id", "lens_status"]
        );
        assert_eq!(
            record[11..],
            ["wellarchitected", "data-retention", "NOT_CURRENT"]
        );
        assert_eq!(TRANSITION_HEADERS[13..], ["lens", "question_id"]);
        assert_eq!(TRANSITION_HEADERS[12], "reason");
    }

    #[test]
    fn an_empty_field_is_empty() {
        let rows = vec![vec![String::new(), "x".to_owned()]];
        assert_eq!(render(&rows), "a,b\r\n,x\r\n");
    }
}
