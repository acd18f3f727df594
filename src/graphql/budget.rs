//! How many items each page of a request may hold. A request has
//! [`MAX_COMPLEXITY`] to spend on list items, each weighing what it selects
//! (a plain field 1, a JSON document [`DOCUMENT`]). A page with `limit:` spends
//! its limit times its weight, or is refused naming the limit, the cost and the
//! page it could have; a page without one gets the largest page the budget
//! still allows (and `paging.next` to walk the rest), as Guardrails serves a
//! page of its own size when asked for none.
//!
//! The schema's complexity check counts each list as one item (so the shape of
//! a request is still bounded: depth, fields, aliases); this budget counts the
//! rows, shared by all the lists of the request, aliases and nested lists
//! included.

use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::{Context, SelectionField};

use super::limits::{DOCUMENT, MAX_COMPLEXITY};

/// Item weight still unspent in this request; put into each request's data by
/// the HTTP endpoint. Requests without one (the local CLI) get full pages.
#[derive(Debug)]
pub struct RowBudget(AtomicUsize);

impl Default for RowBudget {
    fn default() -> Self {
        RowBudget(AtomicUsize::new(MAX_COMPLEXITY))
    }
}

/// The cost the schema's complexity check gives a paged list: one item.
pub fn item_cost(child_complexity: usize) -> usize {
    1 + child_complexity
}

impl RowBudget {
    /// Spends the budget of a page of items weighing `weight` each: `limit` of
    /// them when the filter says so, else as many as remain (at most
    /// `max_page`). The page size, or why the request cannot have it.
    pub fn spend(
        &self,
        field: &str,
        limit: Option<u32>,
        weight: usize,
        max_page: u32,
    ) -> Result<u32, String> {
        let weight = weight.max(1);
        let mut granted = 0;
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                let fits = (left / weight).min(max_page as usize) as u32;
                granted = match limit {
                    Some(limit) if limit.min(max_page) > fits => return None,
                    Some(limit) => limit.min(max_page),
                    None if fits == 0 => return None,
                    None => fits,
                };
                Some(left - granted as usize * weight)
            })
            .map(|_| granted)
            .map_err(|left| {
                let fits = (left / weight).min(max_page as usize);
                match limit {
                    Some(limit) => format!(
                        "Query is too complex: `{field}` asks for limit:{limit} items of weight \
                         {weight} (cost {}); this request has {left} of {MAX_COMPLEXITY} left, \
                         enough for limit:{fits}",
                        limit as usize * weight
                    ),
                    None => format!(
                        "Query is too complex: `{field}` items weigh {weight} each and this request \
                         has {left} of {MAX_COMPLEXITY} left; select fewer fields or lists"
                    ),
                }
            })
    }
}

/// The page size for the list field resolving in `ctx`: spent from the
/// request's budget when it has one, else `limit` (at most `max_page`).
pub fn page_size(ctx: &Context<'_>, limit: Option<u32>, max_page: u32) -> Result<u32, String> {
    let Some(budget) = ctx.data_opt::<RowBudget>() else {
        return Ok(limit.unwrap_or(max_page).min(max_page));
    };
    let field = ctx.field();
    let weight = field
        .selection_set()
        .filter(|f| f.name() == "items")
        .map(|items| selection_weight(items, 0))
        .sum::<usize>();
    budget.spend(field.name(), limit, weight, max_page)
}

/// Deeper than this, a selection weighs the maximum (the schema's depth limit
/// stops such queries before they run).
const MAX_DEPTH: usize = 16;

/// What one item of `field` weighs: the schema's own complexities, with a
/// nested list as one item (its page spends the budget itself).
fn selection_weight(field: SelectionField<'_>, depth: usize) -> usize {
    if depth > MAX_DEPTH {
        return MAX_COMPLEXITY;
    }
    let children: usize = field
        .selection_set()
        .map(|child| selection_weight(child, depth + 1))
        .fold(0, usize::saturating_add);
    let own = match field.name() {
        "details" | "data" | "changes" | "question" | "bestPractices" | "noneOfThese" => DOCUMENT,
        "muteHistory" => DOCUMENT + DOCUMENT * children,
        "policyValues" | "policies" => 5 + 5 * children,
        _ => 1 + children,
    };
    if depth == 0 { children.max(1) } else { own }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_without_limit_gets_what_the_budget_allows() {
        let budget = RowBudget::default();
        assert_eq!(budget.spend("controls", None, 13, 1000), Ok(1000));
        // 20,000 - 13,000 left: 538 items of 13.
        assert_eq!(budget.spend("controls", None, 13, 1000), Ok(538));
        let error = budget.spend("controls", None, 13, 1000).unwrap_err();
        assert!(error.contains("has 6 of 20000 left"), "{error}");
    }

    #[test]
    fn an_explicit_limit_over_the_budget_is_refused_naming_it() {
        let budget = RowBudget::default();
        assert_eq!(budget.spend("controls", Some(10), 40, 1000), Ok(10));
        let error = budget.spend("controls", Some(900), 40, 1000).unwrap_err();
        assert!(
            error.contains("limit:900")
                && error.contains("cost 36000")
                && error.contains("enough for limit:490"),
            "{error}"
        );
        // A limit over the page size is the page size, as without a budget.
        assert_eq!(budget.spend("controls", Some(5000), 1, 200), Ok(200));
    }
}
