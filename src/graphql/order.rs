//! Puts a response's top-level keys in query order.
//!
//! async-graphql resolves the root fields of a query concurrently and inserts
//! each into the response as it completes (`#[Object(serial)]` does not apply at
//! the root), so `{ b: controls {...} a: __typename }` came back as `{a, b}`.
//! Nested objects here are serial; the root is reordered after execution from
//! the query's own selection (fields, fragments and inline fragments).

use std::collections::HashSet;

use async_graphql::parser::parse_query;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Selection, SelectionSet,
};
use async_graphql::{Name, Value};

/// Fragments nested deeper than this are not followed (validation refuses cycles;
/// this only keeps a hostile document from recursing here first).
const MAX_FRAGMENT_DEPTH: usize = 16;

/// The response keys of the root selection of `operation`, in query order.
pub fn root_keys(query: &str, operation: Option<&str>) -> Option<Vec<Name>> {
    let document = parse_query(query).ok()?;
    let operation = match (&document.operations, operation) {
        (DocumentOperations::Single(op), _) => op,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?,
        _ => return None,
    };
    let mut keys = Keys::default();
    keys.collect(&operation.node.selection_set.node, &document, 0);
    Some(keys.in_order)
}

#[derive(Default)]
struct Keys {
    in_order: Vec<Name>,
    seen: HashSet<Name>,
}

impl Keys {
    fn collect(&mut self, set: &SelectionSet, document: &ExecutableDocument, depth: usize) {
        if depth > MAX_FRAGMENT_DEPTH {
            return;
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let key = field.node.response_key().node.clone();
                    if self.seen.insert(key.clone()) {
                        self.in_order.push(key);
                    }
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                    {
                        self.collect(&fragment.node.selection_set.node, document, depth + 1);
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.collect(&inline.node.selection_set.node, document, depth + 1);
                }
            }
        }
    }
}

/// Reorders the object `data` by `keys`; keys it has that `keys` lacks go last.
pub fn reorder(data: &mut Value, keys: &[Name]) {
    let Value::Object(map) = data else {
        return;
    };
    let mut unordered = std::mem::take(map);
    for key in keys {
        if let Some(value) = unordered.swap_remove(key) {
            map.insert(key.clone(), value);
        }
    }
    map.extend(unordered);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_keys_follow_the_query_through_fragments() {
        let query = "query Q { zeta: controls { paging { next } } ...F ... on Query { mid: __typename } alpha: __typename zeta: controls { paging { limit } } } \
                     fragment F on Query { beta: __typename }";
        let keys = root_keys(query, None).unwrap();
        assert_eq!(keys, ["zeta", "beta", "mid", "alpha"].map(Name::new));
        assert_eq!(
            root_keys("query A { a } query B { b }", Some("B")).unwrap(),
            [Name::new("b")]
        );
        assert!(root_keys("query A { a } query B { b }", None).is_none());
        assert!(root_keys("{ unterminated", None).is_none());
    }

    #[test]
    fn reorder_puts_known_keys_first_in_order() {
        let mut data = async_graphql::value!({ "a": 1, "c": 3, "b": 2 });
        reorder(&mut data, &["b", "a"].map(Name::new));
        assert_eq!(data.to_string(), r#"{b: 2, a: 1, c: 3}"#);
    }
}
