//! What one GraphQL request may cost: rows (page size × aliases, through the
//! complexity limit), regexes (a budget per request) and cursors (bounded).

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::filter::Filter;

use super::MAX_PAGE;

/// Complexity one request may reach. A list field costs its page size times its
/// selection, so `controls { items { state } }` costs about 2,000 at the default
/// page and aliases add up: this bounds the rows (and so the memory) of a response.
pub const MAX_COMPLEXITY: usize = 20_000;

/// A field that carries a JSON document (details, changes) weighs this many
/// plain fields: it is the bulk of a response.
pub const DOCUMENT: usize = 10;

/// Regex terms in all the filters of one request together (aliases included).
pub const MAX_REGEXES_PER_REQUEST: usize = 16;

/// The cost of a paged list field: its page size times what each item selects.
pub fn page_cost(filter: Option<&str>, child_complexity: usize) -> usize {
    page_cost_of(filter, child_complexity, MAX_PAGE)
}

/// [`page_cost`] for a list whose pages hold at most `max_page` items.
pub fn page_cost_of(filter: Option<&str>, child_complexity: usize, max_page: u32) -> usize {
    let page = filter
        .and_then(Filter::requested_limit)
        .unwrap_or(max_page)
        .clamp(1, max_page) as usize;
    1 + page.saturating_mul(child_complexity)
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
    let not_a_cursor = || format!("after: {cursor:?} is not a cursor from a previous page");
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
    fn page_cost_counts_the_page_size() {
        assert_eq!(page_cost(None, 2), 2001);
        assert_eq!(page_cost(Some("state:ok limit:10"), 2), 21);
        assert_eq!(page_cost(Some("limit:100000"), 2), 2001);
        assert_eq!(page_cost(Some("limit:0"), 2), 3);
    }

    #[test]
    fn the_regex_budget_is_shared_and_exhausts() {
        let budget = RegexBudget::default();
        assert!(budget.spend(8).is_ok());
        assert!(budget.spend(8).is_ok());
        assert!(budget.spend(1).unwrap_err().contains("at most 16"));
    }
}
