//! What one GraphQL request may cost: rows (page size × aliases, through the
//! complexity limit), regexes (a budget per request), cursors (bounded) and
//! mutations (a few per request: each may call the Tool).

use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
    SelectionSet,
};

/// Complexity one request may reach. A list field costs its page size times its
/// selection, so `controls { items { state } }` costs about 2,000 at the default
/// page and aliases add up: this bounds the rows (and so the memory) of a response.
pub const MAX_COMPLEXITY: usize = 20_000;

/// A field that carries a JSON document (details, changes) weighs this many
/// plain fields: it is the bulk of a response.
pub const DOCUMENT: usize = 10;

/// Regex terms in all the filters of one request together (aliases included).
pub const MAX_REGEXES_PER_REQUEST: usize = 16;

/// Top-level mutation fields one request may hold, aliases and fragments
/// counted: `runControl` calls the Tool, so 700 aliases of it would be 700
/// evaluations for one request.
pub const MAX_MUTATIONS_PER_REQUEST: usize = 10;

/// The operation `operation_name` picks from `document` (the only one when
/// unnamed); `None` when there is no such single operation.
pub fn operation<'d>(
    document: &'d ExecutableDocument,
    operation_name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Refuses a request whose mutation holds more than
/// [`MAX_MUTATIONS_PER_REQUEST`] top-level fields, before any of them runs.
/// A document that does not parse passes: execution reports its syntax error.
pub fn check_mutations(query: &str, operation_name: Option<&str>) -> Result<(), String> {
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return Ok(());
    };
    let mutations: Vec<&OperationDefinition> = match operation(&document, operation_name) {
        Some(op) => vec![op],
        // Ambiguous: execution refuses it, but count every mutation meanwhile.
        None => match &document.operations {
            DocumentOperations::Multiple(ops) => ops.values().map(|op| &op.node).collect(),
            DocumentOperations::Single(op) => vec![&op.node],
        },
    };
    for op in mutations
        .into_iter()
        .filter(|op| op.ty == OperationType::Mutation)
    {
        let fields = top_level_fields(&document, &op.selection_set.node, 0);
        if fields > MAX_MUTATIONS_PER_REQUEST {
            let has = if fields == usize::MAX {
                "more (fragments nested too deep)".to_owned()
            } else {
                fields.to_string()
            };
            return Err(format!(
                "a request has at most {MAX_MUTATIONS_PER_REQUEST} mutations \
                 (aliases included); this one has {has}: send them in several requests"
            ));
        }
    }
    Ok(())
}

/// Fields of `set` as they would run, fragments expanded. Fragments nest at most
/// as deep as the schema allows; deeper (or cyclic) ones count as too many.
fn top_level_fields(document: &ExecutableDocument, set: &SelectionSet, depth: usize) -> usize {
    if depth > 12 {
        return usize::MAX;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(_) => 1,
            Selection::InlineFragment(inline) => {
                top_level_fields(document, &inline.node.selection_set.node, depth + 1)
            }
            Selection::FragmentSpread(spread) => document
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |fragment| {
                    top_level_fields(document, &fragment.node.selection_set.node, depth + 1)
                }),
        })
        .fold(0, usize::saturating_add)
}

/// Regex terms left to this request; put into each request's data by the HTTP
/// endpoint. Requests without one (the local CLI) are not limited.
#[derive(Debug)]
pub struct RegexBudget(AtomicUsize);

impl Default for RegexBudget {
    fn default() -> Self {
        RegexBudget(AtomicUsize::new(MAX_REGEXES_PER_REQUEST))
    }
}

impl RegexBudget {
    /// Takes `n` regexes from the budget, or says how many the request may have.
    pub fn spend(&self, n: usize) -> Result<(), String> {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(n)
            })
            .map(|_| ())
            .map_err(|_| {
                format!(
                    "a request has at most {MAX_REGEXES_PER_REQUEST} regex terms in all its filters"
                )
            })
    }
}

/// A buffer that refuses to grow past its bound: serialising into it stops at
/// the bound instead of building a response (or an input) of any size.
pub struct Capped {
    bytes: Vec<u8>,
    max: usize,
}

impl Capped {
    pub fn new(max: usize) -> Capped {
        Capped {
            bytes: Vec::new(),
            max,
        }
    }

    pub fn into_inner(self) -> Vec<u8> {
        self.bytes
    }
}

impl std::io::Write for Capped {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + bytes.len() > self.max {
            return Err(std::io::Error::other("over the size bound"));
        }
        self.bytes.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Cursors are the hexadecimal offsets `paged` writes: lowercase hex digits only,
/// no sign, and small enough to be a SQL OFFSET (a signed 64-bit integer).
pub fn parse_cursor(cursor: &str) -> Result<usize, String> {
    let not_a_cursor = || format!("{cursor:?} is not a cursor from a previous page");
    if cursor.is_empty()
        || cursor.len() > 15
        || !cursor
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(not_a_cursor());
    }
    usize::from_str_radix(cursor, 16).map_err(|_| not_a_cursor())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_are_plain_bounded_hex() {
        assert_eq!(parse_cursor("0"), Ok(0));
        assert_eq!(parse_cursor("3e8"), Ok(1000));
        assert_eq!(parse_cursor("fffffffffffffff"), Ok(0xfff_ffff_ffff_ffff));
        for bad in [
            "",
            "+2",
            "-1",
            " 2",
            "8000000000000000",
            "ffffffffffffffff",
            "3E8",
            "x",
        ] {
            assert!(parse_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mutations_are_counted_with_aliases_and_fragments() {
        let aliases = |n: usize| {
            let fields: String = (0..n)
                .map(|i| format!("r{i}: runControl(input: {{ id: \"x\" }}) {{ state }} "))
                .collect();
            format!("mutation {{ {fields} }}")
        };
        assert!(check_mutations(&aliases(MAX_MUTATIONS_PER_REQUEST), None).is_ok());
        let refused = check_mutations(&aliases(700), None).unwrap_err();
        assert!(
            refused.contains("at most 10 mutations") && refused.contains("has 700"),
            "{refused}"
        );
        let fragments = "mutation { ...A ... on Mutation { ...A } } \
             fragment A on Mutation { a: runControl(input: {id: \"x\"}) { state } \
             b: runControl(input: {id: \"x\"}) { state } c: runControl(input: {id: \"x\"}) { state } \
             d: runControl(input: {id: \"x\"}) { state } e: runControl(input: {id: \"x\"}) { state } \
             f: runControl(input: {id: \"x\"}) { state } }";
        assert!(
            check_mutations(fragments, None)
                .unwrap_err()
                .contains("has 12")
        );
        let cyclic = "mutation { ...A } fragment A on Mutation { ...A }";
        assert!(check_mutations(cyclic, None).is_err());
        // Queries, and the operation not picked, are not counted.
        let query = aliases(700).replacen("mutation", "query", 1);
        assert!(check_mutations(&query, None).is_ok());
        let named = format!(
            "query Q {{ __typename }} {}",
            aliases(700).replacen("mutation", "mutation M", 1)
        );
        assert!(check_mutations(&named, Some("Q")).is_ok());
        assert!(check_mutations(&named, Some("M")).is_err());
    }

    #[test]
    fn the_regex_budget_is_shared_and_exhausts() {
        let budget = RegexBudget::default();
        assert!(budget.spend(8).is_ok());
        assert!(budget.spend(8).is_ok());
        assert!(budget.spend(1).unwrap_err().contains("at most 16"));
    }
}
