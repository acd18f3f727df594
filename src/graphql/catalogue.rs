//! Guardrails' catalogue and hierarchy roots: `controlTypes`,
//! `controlCategories`, `controlSummariesByControlCategory` (REL 04 and the
//! categories above it, see [`crate::filter::catalogue`]) and `resources`
//! (accounts, regions and workloads, from the controls on them).

use std::collections::BTreeSet;

use async_graphql::{Context, Object, SimpleObject};

use super::summary::{StateCounts, Summary, SummaryMetadata, SummaryStats};
use super::turbot::{ControlType, Metadata, Resource, Trunk};
use super::{Cursor, Paging, bad_filter, budget, internal, limits, paged, parse_filter, unpaged};
use crate::control::CONTROL_TYPE;
use crate::filter::catalogue::CONTROL_CATEGORIES;
use crate::filter::scope::{ACCOUNT_TYPE, REGION_TYPE};
use crate::filter::{Filter, Key, Matcher, Scope};
use crate::store::{ControlRow, Store};

/// Whether `filter`'s control type and catalogue terms leave REL 04 in (they
/// all resolve to `rel04`, or to a URI that names something else).
fn selects_rel04(filter: &Filter) -> bool {
    selects(filter, CONTROL_TYPE)
}

/// Whether `filter`'s control type and catalogue terms leave the control type
/// recorded as `control_type` in.
fn selects(filter: &Filter, control_type: &str) -> bool {
    filter
        .terms
        .iter()
        .all(|term| match (&term.key, &term.matcher) {
            (Key::ControlType, Matcher::AnyOf(values)) => {
                values.iter().any(|v| v == control_type) != term.negated
            }
            _ => true,
        })
}

/// A catalogue list's filter: only catalogue terms, `sort:` by `path`,
/// `title` or `uri`, and `limit:`.
async fn catalogue_filter(
    ctx: &Context<'_>,
    root: &str,
    filter: Option<String>,
) -> async_graphql::Result<Filter> {
    let filter = parse_filter(ctx, filter).await?;
    if let Some(term) = filter.terms.iter().find(|t| t.key != Key::ControlType) {
        return Err(bad_filter(format!(
            "{root} filters by control type and category only (controlTypeId, controlType, \
             controlCategoryId, controlCategory, is, sort, limit), not {}",
            term.key
        )));
    }
    if let Some(sort) = &filter.sort
        && !["path", "title", "uri"].contains(&sort.field.as_str())
    {
        return Err(bad_filter(format!(
            "cannot sort {root} by `{}`; sortable fields: path, title, uri",
            sort.field
        )));
    }
    Ok(filter)
}

#[derive(SimpleObject)]
pub struct ControlTypePage {
    pub items: Vec<ControlType>,
    pub metadata: Metadata,
}

/// A control category: `uri`, `title`, `turbot { id title akas }`, `trunk`.
#[derive(SimpleObject, Clone)]
pub struct ControlCategory {
    pub uri: String,
    pub title: String,
    pub turbot: CategoryTurbot,
    pub trunk: Trunk,
}

#[derive(SimpleObject, Clone)]
pub struct CategoryTurbot {
    pub id: String,
    pub title: String,
    pub akas: Vec<String>,
}

fn categories() -> Vec<ControlCategory> {
    CONTROL_CATEGORIES
        .iter()
        .enumerate()
        .map(|(depth, (uri, title))| {
            let titles: Vec<&str> = CONTROL_CATEGORIES[..=depth].iter().map(|c| c.1).collect();
            ControlCategory {
                uri: (*uri).to_owned(),
                title: (*title).to_owned(),
                turbot: CategoryTurbot {
                    id: (*uri).to_owned(),
                    title: (*title).to_owned(),
                    akas: vec![(*uri).to_owned()],
                },
                trunk: Trunk::of(&titles),
            }
        })
        .collect()
}

#[derive(SimpleObject)]
pub struct ControlCategoryPage {
    pub items: Vec<ControlCategory>,
    pub metadata: Metadata,
}

#[derive(SimpleObject)]
pub struct CategorySummaryItem {
    pub category: ControlCategory,
    pub summary: Summary,
}

#[derive(SimpleObject)]
pub struct CategorySummaryPage {
    pub items: Vec<CategorySummaryItem>,
    pub metadata: SummaryMetadata,
}

/// A page of `resources`.
#[derive(SimpleObject)]
pub struct ResourcePage {
    pub items: Vec<Resource>,
    pub paging: Paging,
    pub metadata: Metadata,
}

#[derive(Default)]
pub struct CatalogueQuery;

#[Object(serial)]
impl CatalogueQuery {
    /// The control types: REL 04's, and each other governed question's that has
    /// controls, as the filter selects them.
    async fn control_types(
        &self,
        ctx: &Context<'_>,
        filter: Option<String>,
    ) -> async_graphql::Result<ControlTypePage> {
        let filter = catalogue_filter(ctx, "controlTypes", filter).await?;
        let mut items = Vec::new();
        if selects_rel04(&filter) {
            items.push(ControlType::rel04());
        }
        let recorded = ctx
            .data::<Store>()?
            .control_types()
            .await
            .map_err(internal)?;
        items.extend(
            recorded
                .iter()
                .filter(|(lens, question_id, _)| !crate::store::is_rel04(lens, question_id))
                .filter(|(_, _, control_type)| selects(&filter, control_type))
                .map(|(lens, question_id, control_type)| {
                    ControlType::of(lens, question_id, control_type)
                }),
        );
        if let Some(sort) = &filter.sort {
            items.sort_by_cached_key(|t| t.sort_key(&sort.field));
            if sort.descending {
                items.reverse();
            }
        }
        Ok(ControlTypePage {
            metadata: Metadata::total(items.len()),
            items,
        })
    }

    /// The control categories REL 04 is in, root first (`sort:-path` reverses).
    async fn control_categories(
        &self,
        ctx: &Context<'_>,
        filter: Option<String>,
    ) -> async_graphql::Result<ControlCategoryPage> {
        let filter = catalogue_filter(ctx, "controlCategories", filter).await?;
        let mut items = if selects_rel04(&filter) {
            categories()
        } else {
            vec![]
        };
        if let Some(sort) = &filter.sort {
            match sort.field.as_str() {
                "title" => items.sort_by(|a, b| a.title.cmp(&b.title)),
                "uri" => items.sort_by(|a, b| a.uri.cmp(&b.uri)),
                _ => {}
            }
            if sort.descending {
                items.reverse();
            }
        }
        Ok(ControlCategoryPage {
            metadata: Metadata::total(items.len()),
            items,
        })
    }

    /// Control counts by state per category (muted controls left out): every
    /// category holds every control the filter matches.
    async fn control_summaries_by_control_category(
        &self,
        ctx: &Context<'_>,
        filter: Option<String>,
    ) -> async_graphql::Result<CategorySummaryPage> {
        let filter = unpaged(&parse_filter(ctx, filter).await?);
        let rows = ctx
            .data::<Store>()?
            .list_controls(&filter)
            .await
            .map_err(internal)?;
        let counts = StateCounts::of(&rows);
        let items: Vec<CategorySummaryItem> = match selects_rel04(&filter) {
            true => categories()
                .into_iter()
                .map(|category| CategorySummaryItem {
                    category,
                    summary: Summary { control: counts },
                })
                .collect(),
            false => vec![],
        };
        Ok(CategorySummaryPage {
            metadata: SummaryMetadata {
                stats: SummaryStats {
                    total: items.len() as i64,
                    control: counts,
                },
            },
            items,
        })
    }

    /// Accounts, regions and workloads holding the controls the filter
    /// matches, in trunk order; `resourceTypeId:` of the account or region type
    /// keeps that level, of the workload type (or an ancestor) the workloads.
    #[graphql(complexity = "budget::item_cost(child_complexity)")]
    async fn resources(
        &self,
        ctx: &Context<'_>,
        filter: Option<String>,
        paging: Option<String>,
    ) -> async_graphql::Result<ResourcePage> {
        let mut filter = parse_filter(ctx, filter).await?;
        let levels = levels(&mut filter);
        let cursor = Cursor::paging(paging.as_deref());
        let offset = match cursor {
            Cursor(_, Some(c)) => {
                limits::parse_cursor(c).map_err(|e| bad_filter(format!("paging: {e}")))?
            }
            Cursor(_, None) => 0,
        };
        let limit = budget::page_size(ctx, filter.limit, super::MAX_PAGE).map_err(bad_filter)?;
        let rows = ctx
            .data::<Store>()?
            .list_controls(&unpaged(&filter))
            .await
            .map_err(internal)?;
        let mut all = hierarchy(&rows, &levels, &filter);
        if identity_asked(&filter) {
            all.insert(0, Resource::automation());
        }
        if let Some(sort) = &filter.sort {
            if sort.field != "title" {
                return Err(bad_filter(format!(
                    "cannot sort resources by `{}`; sortable fields: title",
                    sort.field
                )));
            }
            all.sort_by(|a, b| a.name.cmp(&b.name));
            if sort.descending {
                all.reverse();
            }
        }
        let total = all.len();
        let mut page: Vec<Resource> = all.drain(offset.min(total)..).collect();
        page.truncate(limit as usize + 1);
        let (items, paging) = paged(page, limit as usize, offset);
        Ok(ResourcePage {
            items,
            paging,
            metadata: Metadata::total(total),
        })
    }
}

/// Whether a scope term names rel04d's identity (`turbot://identity/turbot`).
fn identity_asked(filter: &Filter) -> bool {
    filter.terms.iter().any(|t| {
        !t.negated && matches!(&t.matcher, Matcher::Scopes(s) if s.contains(&Scope::Actor))
    })
}

/// The levels `resourceTypeId:` terms ask for (all when none does), taking
/// the account and region terms out of `filter` (no control is on those).
fn levels(filter: &mut Filter) -> BTreeSet<LevelKey> {
    let mut levels = BTreeSet::new();
    filter.terms.retain(|term| {
        let Matcher::AnyOf(values) = &term.matcher else {
            return true;
        };
        if term.key != Key::ControlType || term.negated {
            return true;
        }
        let named: Vec<LevelKey> = values
            .iter()
            .filter_map(|v| match v.as_str() {
                ACCOUNT_TYPE => Some(LevelKey::Account),
                REGION_TYPE => Some(LevelKey::Region),
                _ if v == CONTROL_TYPE => Some(LevelKey::Workload),
                _ => None,
            })
            .collect();
        let has_hierarchy = named.iter().any(|l| *l != LevelKey::Workload);
        levels.extend(named);
        !has_hierarchy
    });
    if levels.is_empty() {
        levels.extend([LevelKey::Account, LevelKey::Region, LevelKey::Workload]);
    }
    levels
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LevelKey {
    Account,
    Region,
    Workload,
}

/// The resources above and at `rows`, at `levels`, in trunk order. A scope term
/// names a resource and what is below it, so levels above the narrowest scope
/// are left out.
fn hierarchy(rows: &[ControlRow], levels: &BTreeSet<LevelKey>, filter: &Filter) -> Vec<Resource> {
    let narrowest = filter
        .terms
        .iter()
        .filter_map(|t| match &t.matcher {
            Matcher::Scopes(scopes) if !t.negated => scopes
                .iter()
                .map(|s| match s {
                    Scope::Everything | Scope::Actor => LevelKey::Account,
                    Scope::Account(_) => LevelKey::Account,
                    Scope::Region { .. } => LevelKey::Region,
                    Scope::Workload(_) => LevelKey::Workload,
                })
                .min(),
            _ => None,
        })
        .max()
        .unwrap_or(LevelKey::Account);
    let keep = |level| levels.contains(&level) && level >= narrowest;
    let mut sorted: Vec<&ControlRow> = rows.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.account_id, &a.region, &a.workload_name, &a.workload_arn).cmp(&(
            &b.account_id,
            &b.region,
            &b.workload_name,
            &b.workload_arn,
        ))
    });
    let mut out = Vec::new();
    let (mut account, mut region): (Option<&str>, Option<(&str, &str)>) = (None, None);
    for row in sorted {
        if account != Some(&row.account_id) {
            account = Some(&row.account_id);
            if keep(LevelKey::Account) {
                out.push(Resource::account(&row.account_id));
            }
        }
        if region != Some((&row.account_id, &row.region)) {
            region = Some((&row.account_id, &row.region));
            if keep(LevelKey::Region) {
                out.push(Resource::region(&row.account_id, &row.region));
            }
        }
        if keep(LevelKey::Workload) {
            out.push(Resource::of_control(row));
        }
    }
    out
}
