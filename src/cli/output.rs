//! Rendering query results as aligned tables or JSON arrays. Tables and lines
//! for people show every value through [`crate::display::terminal`]: names,
//! reasons and actors come from workloads' owners and operators, and must not
//! drive the reader's terminal or break a row. JSON stays exact.

use super::Output;
use crate::display::{Terminal, terminal};
use crate::reconcile::Reconciled;
use crate::store::{ControlRow, TransitionRow};

/// Prints rows as a left-aligned table; the last column is not padded. Cells
/// are shown through [`terminal`], so one row is one line.
pub(super) fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let rows: Vec<Vec<String>> = rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .map(|cell| terminal(&cell).into_owned())
                .collect()
        })
        .collect();
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
    // With more than REL 04 governed, each row says which question's control
    // it is (its control type: rel04, rel05, a custom question's name).
    let questions = rows
        .iter()
        .any(|c| !crate::store::is_rel04(&c.lens, &c.question_id));
    let mut headers = vec!["STATE"];
    if questions {
        headers.push("CONTROL");
    }
    headers.extend([
        "WORKLOAD",
        "WORKLOAD ID",
        "ACCOUNT",
        "REGION",
        "UPDATED",
        "REASON",
    ]);
    table(
        &headers,
        rows.iter()
            .map(|c| {
                let mut row = vec![if c.muted {
                    format!("{} (muted)", c.state)
                } else {
                    c.state.to_string()
                }];
                if questions {
                    row.push(c.control_type.clone());
                }
                row.extend([
                    c.workload_name.clone(),
                    c.workload_id.clone(),
                    c.account_id.clone(),
                    c.region.clone(),
                    c.updated_at.chars().take(19).collect(),
                    c.reason.clone(),
                ]);
                row
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
    controls: &[ControlRow],
) -> anyhow::Result<()> {
    if matches!(result, Reconciled::Ignored) {
        println!(
            "{}: nothing to evaluate (no control for this workload)",
            Terminal(workload_id)
        );
    } else if controls.is_empty() {
        println!(
            "{}: {}",
            Terminal(workload_id),
            Terminal(format!("{result:?}"))
        );
    }
    if matches!(result, Reconciled::Ignored) {
        return Ok(());
    }
    // One line per control: REL 04's as it always was, any other naming its
    // question (and its lens when not the Framework's).
    for control in controls {
        let question = if control.key().is_rel04() {
            String::new()
        } else if control.lens == crate::control::policy::LENS_ALIAS {
            format!(" {}", Terminal(&control.question_id))
        } else {
            format!(
                " {} ({})",
                Terminal(&control.question_id),
                Terminal(&control.lens)
            )
        };
        println!(
            "{}{question}: {} — {}",
            Terminal(workload_id),
            control.state,
            Terminal(&control.reason)
        );
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
                (Some(at), _) => format!(" until {}", Terminal(at)),
                (None, Some(state)) => format!(" until {state}"),
                (None, None) => String::new(),
            };
            println!(
                "  {}  {}{until} by {}: {}",
                Terminal(&m.occurred_at),
                Terminal(&m.action),
                Terminal(&m.actor),
                Terminal(&m.reason)
            );
        }
    }
    Ok(())
}
