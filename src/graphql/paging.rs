//! Pages: the cursors (`after`, Guardrails' `paging`), the page size a
//! request may have (see [`super::budget`]), and filters parsed within the
//! request's regex budget.

use async_graphql::{Context, ErrorExtensions, SimpleObject};

use super::limits::{self, RegexBudget};
use super::{bad_filter, budget, internal};
use crate::filter::Filter;
use crate::store::Store;

/// Parses a filter and a cursor into the filter to run (one extra row, to learn
/// whether there is a next page), the page size (at most `max_page`, and what
/// the request's [`budget::RowBudget`] allows) and the offset. Regexes are counted against the request's budget before they are
/// compiled, and compiled on a blocking thread: even bounded, compilation is CPU
/// the async workers owe to other requests (and `/healthz`).
pub(super) async fn page_of(
    ctx: &Context<'_>,
    filter: Option<String>,
    after: Cursor<'_>,
    max_page: u32,
) -> async_graphql::Result<(Filter, usize, usize)> {
    let mut filter = parse_filter(ctx, filter).await?;
    let offset = match after {
        Cursor(_, None) => 0,
        Cursor(name, Some(cursor)) => {
            limits::parse_cursor(cursor).map_err(|e| bad_filter(format!("{name}: {e}")))?
        }
    };
    let limit = budget::page_size(ctx, filter.limit, max_page).map_err(bad_filter)? as usize;
    filter.limit = Some(limit as u32 + 1);
    Ok((filter, limit, offset))
}

/// Where a page starts: the public name of the argument that said so (`after`,
/// or Guardrails' `paging`) and its cursor, if any.
#[derive(Clone, Copy)]
pub struct Cursor<'a>(pub(super) &'static str, pub(super) Option<&'a str>);

impl<'a> Cursor<'a> {
    pub fn after(cursor: Option<&'a str>) -> Self {
        Cursor("after", cursor)
    }

    /// Guardrails' `paging`, where `""` is the first page.
    pub fn paging(cursor: Option<&'a str>) -> Self {
        Cursor("paging", cursor.filter(|c| !c.is_empty()))
    }

    /// `after` if given, else `paging`.
    pub(super) fn either(after: Option<&'a str>, paging: Option<&'a str>) -> Self {
        match after {
            Some(_) => Cursor::after(after),
            None => Cursor::paging(paging),
        }
    }
}

/// Parses a filter within the request's regex budget (see [`page_of`]).
pub(super) async fn parse_filter(
    ctx: &Context<'_>,
    filter: Option<String>,
) -> async_graphql::Result<Filter> {
    let text = filter.unwrap_or_default();
    if let Some(budget) = ctx.data_opt::<RegexBudget>() {
        budget
            .spend(Filter::count_regexes(&text))
            .map_err(bad_filter)?;
    }
    let parsed = tokio::task::spawn_blocking(move || Filter::parse(&text))
        .await
        .map_err(|e| internal(anyhow::anyhow!("filter parsing failed: {e}")))?;
    parsed.map_err(|e| {
        bad_filter(&e).extend_with(|_, x| {
            x.set("position", e.position);
            x.set("term", e.term.clone());
        })
    })
}

/// `filter` without its page: what `metadata { stats { total } }` counts.
pub(super) fn unpaged(filter: &Filter) -> Filter {
    Filter {
        limit: None,
        sort: None,
        ..filter.clone()
    }
}

/// Where the next page starts, if there is one.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Paging {
    /// Pass as `after` for the next page; null on the last page.
    pub next: Option<String>,
    /// Pass as `after` for the previous page; null on the first page.
    pub prev: Option<String>,
    pub limit: i32,
}

#[async_graphql::ComplexObject]
impl Paging {
    /// Guardrails' other name of `prev`.
    async fn previous(&self) -> Option<&str> {
        self.prev.as_deref()
    }
}

/// One page of rows, its paging, and the filter without its page terms.
pub(super) struct Fetched<T> {
    pub rows: Vec<T>,
    pub paging: Paging,
    pub filter: Filter,
}

/// The page of what `list` finds for `filter` from the cursor `after` (at most
/// `max_page` rows): the filter and cursor parsed within the request's budgets,
/// one row more read than the page holds, to know whether another follows.
pub(super) async fn fetch_page<T>(
    ctx: &Context<'_>,
    filter: Option<String>,
    after: Cursor<'_>,
    max_page: u32,
    list: impl AsyncFnOnce(&Store, &Filter, usize) -> anyhow::Result<Vec<T>>,
) -> async_graphql::Result<Fetched<T>> {
    let (filter, limit, offset) = page_of(ctx, filter, after, max_page).await?;
    let rows = list(ctx.data::<Store>()?, &filter, offset)
        .await
        .map_err(internal)?;
    let (rows, paging) = paged(rows, limit, offset);
    Ok(Fetched {
        rows,
        paging,
        filter: unpaged(&filter),
    })
}

/// A page of transitions (rel04d's `transitions`, Guardrails' `notifications`).
pub(super) async fn fetch_transitions(
    ctx: &Context<'_>,
    filter: Option<String>,
    after: Cursor<'_>,
    max_page: u32,
) -> async_graphql::Result<Fetched<crate::store::TransitionRow>> {
    fetch_page(
        ctx,
        filter,
        after,
        max_page,
        async |store, filter, offset| store.list_transitions_from(filter, offset).await,
    )
    .await
}

pub(super) fn paged<T>(mut rows: Vec<T>, limit: usize, offset: usize) -> (Vec<T>, Paging) {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = more.then(|| format!("{:x}", offset + limit));
    let prev = (offset > 0).then(|| format!("{:x}", offset.saturating_sub(limit)));
    (
        rows,
        Paging {
            next,
            prev,
            limit: limit as i32,
        },
    )
}
