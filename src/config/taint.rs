//! Which queries read what a workload's owner controls.
//!
//! Whoever owns a workload chooses its name, tags, description, answers and
//! notes — and so, through the answers, its control's state, reason and
//! details, and through tags and names what filters match. A value calculated
//! from any of it must not make rel04d write answers with its own credentials
//! unless the operator allows tags to (`policies.tags.allow_enforce`).
//!
//! The check is conservative: a query is clean only if every field it selects,
//! through aliases, fragments and inline fragments alike, is on [`CLEAN`] — the
//! evaluated workload's ids and constants. Everything else, including every
//! list root (their filters and counts read owner data) and `resource(id:)`,
//! is owner data. Fragments are checked where they are spread (one never
//! spread selects nothing).

use std::collections::HashMap;

use async_graphql::parser::types::{FragmentDefinition, Selection, SelectionSet};
use async_graphql::{Name, Positioned};

/// Field paths a workload's owner cannot influence: under the argument-less
/// `resource` (the workload being evaluated), its id, its ARN (account, region
/// and id, all AWS's) and the resource type.
const CLEAN: &[&str] = &[
    "__typename",
    "resource",
    "resource.__typename",
    "resource.turbot",
    "resource.turbot.__typename",
    "resource.turbot.id",
    "resource.turbot.akas",
    "resource.turbot.resourceTypeId",
    "resource.type",
    "resource.type.__typename",
    "resource.type.uri",
    "resource.type.title",
];

/// The first field of `query` that reads owner-controlled data, as a dotted
/// path (`resource.turbot.tags`), or `None` if it reads none. A query that does
/// not parse counts as reading owner data.
pub fn owner_data(query: &str) -> Option<String> {
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return Some("(a query that does not parse)".to_owned());
    };
    let walk = Walk {
        fragments: &document.fragments,
    };
    document
        .operations
        .iter()
        .find_map(|(_, op)| walk.selections(&op.node.selection_set, "", &mut Vec::new()))
}

struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
}

impl Walk<'_> {
    /// The first owner-controlled path under `prefix` in `set`; `spreads` are
    /// the fragments being expanded (a cycle counts as owner data).
    fn selections(
        &self,
        set: &Positioned<SelectionSet>,
        prefix: &str,
        spreads: &mut Vec<Name>,
    ) -> Option<String> {
        set.node.items.iter().find_map(|item| match &item.node {
            Selection::Field(field) => {
                let field = &field.node;
                let path = match prefix {
                    "" => field.name.node.to_string(),
                    prefix => format!("{prefix}.{}", field.name.node),
                };
                if !CLEAN.contains(&path.as_str()) {
                    return Some(path);
                }
                if path == "resource" && !field.arguments.is_empty() {
                    return Some("resource(id:)".to_owned());
                }
                self.selections(&field.selection_set, &path, spreads)
            }
            Selection::InlineFragment(inline) => {
                self.selections(&inline.node.selection_set, prefix, spreads)
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                if spreads.contains(name) {
                    return Some(format!("...{name} (a cycle)"));
                }
                let Some(fragment) = self.fragments.get(name) else {
                    return Some(format!("...{name} (undefined)"));
                };
                spreads.push(name.clone());
                let found = self.selections(&fragment.node.selection_set, prefix, spreads);
                spreads.pop();
                found
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_constants_of_the_evaluated_workload_are_clean() {
        for query in [
            "{ resource { turbot { id akas resourceTypeId } } }",
            "{ resource { type { uri title } __typename } }",
            "{ r: resource { t: turbot { a: akas } } }",
            "query { ...F } fragment F on Query { resource { turbot { id } } }",
            "{ ... on Query { resource { ... on Resource { turbot { id } } } } }",
            "{ __typename }",
        ] {
            assert_eq!(owner_data(query), None, "{query}");
        }
    }

    #[test]
    fn owner_data_is_found_through_aliases_fragments_and_every_root() {
        let cases = [
            ("{ resource { turbot { tags } } }", "resource.turbot.tags"),
            ("{ resource { turbot { title } } }", "resource.turbot.title"),
            ("{ resource { data } }", "resource.data"),
            ("{ resource { trunk { title } } }", "resource.trunk"),
            (
                "{ id: resource { turbot { id: tags } } }",
                "resource.turbot.tags",
            ),
            (
                "{ ...F } fragment F on Query { resource { turbot { tags } } }",
                "resource.turbot.tags",
            ),
            (
                "{ resource { ...G } } fragment G on Resource { turbot { tags } }",
                "resource.turbot.tags",
            ),
            (
                "{ resource { ... on Resource { turbot { ... { tags } } } } }",
                "resource.turbot.tags",
            ),
            ("{ resource(id: \"x\") { turbot { id } } }", "resource(id:)"),
            ("{ controls { items { workloadId } } }", "controls"),
            (
                "{ controls(filter: \"tag:mode=x\") { metadata { stats { total } } } }",
                "controls",
            ),
            ("{ notifications { items { id } } }", "notifications"),
            ("{ transitions { items { id } } }", "transitions"),
            ("{ explain(workloadId: \"x\") { state } }", "explain"),
            (
                "{ policyValues(workloadId: \"x\") { value } }",
                "policyValues",
            ),
            ("{ __schema { types { name } } }", "__schema"),
            ("{ ...F } fragment F on Query { ...F }", "...F (a cycle)"),
            ("{ ...Missing }", "...Missing (undefined)"),
            ("not a query", "(a query that does not parse)"),
        ];
        for (query, path) in cases {
            assert_eq!(owner_data(query).as_deref(), Some(path), "{query}");
        }
    }

    #[test]
    fn every_operation_of_a_document_is_checked() {
        let query = "query A { resource { turbot { id } } } query B { resource { data } }";
        assert_eq!(owner_data(query).as_deref(), Some("resource.data"));
    }
}
