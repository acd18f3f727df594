//! Guardrails' control summaries: counts by state, per control type and per
//! resource (account, account-region). Muted controls are not counted.

use std::collections::BTreeMap;

use async_graphql::SimpleObject;

use super::turbot::{ControlType, ResourceType, Trunk};
use crate::control::ControlState;
use crate::store::ControlRow;

use crate::filter::scope::{ACCOUNT_TYPE, REGION_TYPE};

/// `summary { control { total alarm error invalid ok skipped tbd } }`.
#[derive(SimpleObject, Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct StateCounts {
    pub total: i64,
    pub alarm: i64,
    pub error: i64,
    pub invalid: i64,
    pub ok: i64,
    pub skipped: i64,
    pub tbd: i64,
}

impl StateCounts {
    /// Counts `rows` by state, leaving muted controls out.
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a ControlRow>) -> StateCounts {
        let mut counts = StateCounts::default();
        for row in rows.into_iter().filter(|r| !r.muted) {
            let slot = match row.state {
                ControlState::Alarm => &mut counts.alarm,
                ControlState::Error => &mut counts.error,
                ControlState::Invalid => &mut counts.invalid,
                ControlState::Ok => &mut counts.ok,
                ControlState::Skipped => &mut counts.skipped,
                ControlState::Tbd => &mut counts.tbd,
                // History, not a control in force.
                ControlState::Removed => continue,
            };
            *slot += 1;
            counts.total += 1;
        }
        counts
    }
}

#[derive(SimpleObject)]
pub struct Summary {
    pub control: StateCounts,
}

#[derive(SimpleObject)]
pub struct SummaryStats {
    pub total: i64,
    pub control: StateCounts,
}

#[derive(SimpleObject)]
pub struct SummaryMetadata {
    pub stats: SummaryStats,
}

/// An account or an account-region, as Guardrails shows a resource in summaries.
#[derive(SimpleObject)]
pub struct SummaryResource {
    pub turbot: SummaryResourceTurbot,
    pub trunk: Trunk,
    #[graphql(name = "type")]
    pub type_: ResourceType,
}

#[derive(SimpleObject)]
pub struct SummaryResourceTurbot {
    pub id: String,
    pub title: String,
    pub akas: Vec<String>,
}

#[derive(SimpleObject)]
pub struct SummaryItem {
    /// For summaries by control type.
    #[graphql(name = "type")]
    pub type_: Option<ControlType>,
    /// For summaries by resource.
    pub resource: Option<SummaryResource>,
    pub summary: Summary,
}

#[derive(SimpleObject)]
pub struct SummaryPage {
    pub items: Vec<SummaryItem>,
    pub metadata: SummaryMetadata,
}

fn page(items: Vec<SummaryItem>, rows: &[ControlRow]) -> SummaryPage {
    let control = StateCounts::of(rows);
    SummaryPage {
        metadata: SummaryMetadata {
            stats: SummaryStats {
                total: items.len() as i64,
                control,
            },
        },
        items,
    }
}

/// One item per control type (a governed question of a lens), REL 04's first,
/// then by lens and question. No rows is REL 04's item with zero counts, as
/// before more questions could be governed.
pub fn by_control_type(rows: &[ControlRow]) -> SummaryPage {
    let mut types: BTreeMap<(bool, &str, &str, &str), Vec<&ControlRow>> = BTreeMap::new();
    for row in rows {
        let other = !crate::store::is_rel04(&row.lens, &row.question_id);
        let (lens, question) = (row.lens.as_str(), row.question_id.as_str());
        types
            .entry((other, lens, question, row.control_type.as_str()))
            .or_default()
            .push(row);
    }
    let mut items: Vec<SummaryItem> = types
        .into_iter()
        .map(|((_, lens, question_id, control_type), rows)| SummaryItem {
            type_: Some(ControlType::of(lens, question_id, control_type)),
            resource: None,
            summary: Summary {
                control: StateCounts::of(rows),
            },
        })
        .collect();
    if items.is_empty() {
        items.push(SummaryItem {
            type_: Some(ControlType::rel04()),
            resource: None,
            summary: Summary {
                control: StateCounts::default(),
            },
        });
    }
    page(items, rows)
}

/// One item per account, then one per account-region, each in key order.
pub fn by_resource(rows: &[ControlRow]) -> SummaryPage {
    let mut accounts: BTreeMap<&str, Vec<&ControlRow>> = BTreeMap::new();
    let mut regions: BTreeMap<(&str, &str), Vec<&ControlRow>> = BTreeMap::new();
    for row in rows {
        accounts.entry(&row.account_id).or_default().push(row);
        regions
            .entry((&row.account_id, &row.region))
            .or_default()
            .push(row);
    }
    let item = |id: String, titles: &[&str], uri: &str, title: &str, counts| SummaryItem {
        type_: None,
        resource: Some(SummaryResource {
            turbot: SummaryResourceTurbot {
                title: titles.last().copied().unwrap_or_default().to_owned(),
                akas: vec![id.clone()],
                id,
            },
            trunk: Trunk::of(titles),
            type_: ResourceType {
                uri: uri.to_owned(),
                title: title.to_owned(),
            },
        }),
        summary: Summary { control: counts },
    };
    let mut items: Vec<SummaryItem> = accounts
        .into_iter()
        .map(|(account, rows)| {
            let id = format!("arn:aws:::{account}");
            item(
                id,
                &[account],
                ACCOUNT_TYPE,
                "Account",
                StateCounts::of(rows),
            )
        })
        .collect();
    items.extend(regions.into_iter().map(|((account, region), rows)| {
        let id = format!("arn:aws::{region}:{account}");
        item(
            id,
            &[account, region],
            REGION_TYPE,
            "Region",
            StateCounts::of(rows),
        )
    }));
    page(items, rows)
}
