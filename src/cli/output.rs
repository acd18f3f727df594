//! Rendering query results as aligned tables or JSON arrays.

use super::Output;
use crate::reconcile::Reconciled;
use crate::store::{ControlRow, TransitionRow};

/// Prints rows as a left-aligned table; the last column is not padded.
pub(super) fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let last = cells.len() - 1;
        let padded: Vec<String> = cells
            .into_iter()
            .enumerate()
            .map(|(i, cell)| {
                if i == last {
                    cell
                } else {
                    format!("{cell:<width$}", width = widths[i])
                }
            })
            .collect();
        println!("{}", padded.join("  "));
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    for row in rows {
        line(row);
    }
}

pub(super) fn json<T: serde::Serialize>(rows: &[T]) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(rows)?);
    Ok(())
}

pub fn controls(rows: &[ControlRow], output: Output) -> anyhow::Result<()> {
    if output == Output::Json {
        return json(rows);
    }
    table(
        &[
            "STATE",
            "WORKLOAD",
            "WORKLOAD ID",
            "ACCOUNT",
            "REGION",
            "UPDATED",
            "REASON",
        ],
        rows.iter()
            .map(|c| {
                vec![
                    if c.muted {
                        format!("{} (muted)", c.state)
                    } else {
                        c.state.to_string()
                    },
                    c.workload_name.clone(),
                    c.workload_id.clone(),
                    c.account_id.clone(),
                    c.region.clone(),
                    c.updated_at.chars().take(19).collect(),
                    c.reason.clone(),
                ]
            })
            .collect(),
    );
    let muted = rows.iter().filter(|c| c.muted).count();
    eprintln!("{} control(s), {muted} muted", rows.len());
    Ok(())
}

pub fn transitions(rows: &[TransitionRow], output: Output) -> anyhow::Result<()> {
    if output == Output::Json {
        return json(rows);
    }
    table(
        &[
            "ID",
            "OCCURRED",
            "WORKLOAD ID",
            "FROM",
            "TO",
            "TRIGGER",
            "REASON",
        ],
        rows.iter()
            .map(|t| {
                vec![
                    t.id.to_string(),
                    t.occurred_at.chars().take(19).collect(),
                    t.workload_id.clone(),
                    t.from_state.clone().unwrap_or_else(|| "-".into()),
                    t.to_state.clone(),
                    t.trigger.clone(),
                    t.reason.clone(),
                ]
            })
            .collect(),
    );
    eprintln!("{} transition(s)", rows.len());
    Ok(())
}

pub fn evaluated(
    workload_id: &str,
    result: &Reconciled,
    control: Option<&ControlRow>,
) -> anyhow::Result<()> {
    match (result, control) {
        (Reconciled::Ignored, _) => {
            println!("{workload_id}: nothing to evaluate (no control for this workload)")
        }
        (_, Some(control)) => println!("{workload_id}: {} — {}", control.state, control.reason),
        (result, None) => println!("{workload_id}: {result:?}"),
    }
    Ok(())
}

pub fn explanation(
    explanation: &crate::explain::Explanation,
    mute_history: &[crate::store::MuteEvent],
    output: Output,
) -> anyhow::Result<()> {
    if output == Output::Json {
        let json = serde_json::json!({ "explanation": explanation, "mute_history": mute_history });
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    print!("{}", crate::explain::render(explanation));
    if !mute_history.is_empty() {
        println!("\nMutes (newest first):");
        for m in mute_history {
            let until = match (&m.until, &m.until_state) {
                (Some(at), _) => format!(" until {at}"),
                (None, Some(state)) => format!(" until {state}"),
                (None, None) => String::new(),
            };
            println!(
                "  {}  {}{until} by {}: {}",
                m.occurred_at, m.action, m.actor, m.reason
            );
        }
    }
    Ok(())
}
