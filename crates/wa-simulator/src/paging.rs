//! ListWorkloads paging: keyset pagination over workload ids sorted ascending.
//!
//! The NextToken carries the last id of the previous page (hex-encoded behind a
//! version prefix, so it matches the model's `[A-Za-z0-9+/=_-]+` pattern and clients
//! have no reason to parse it). Keyset paging means inserts and deletes between pages
//! never duplicate or skip a workload that exists throughout the listing.

use super::errors::ApiError;

const PREFIX: &str = "sim1-";

pub fn encode_token(last_id: &str) -> String {
    let mut token = String::with_capacity(PREFIX.len() + last_id.len() * 2);
    token.push_str(PREFIX);
    for b in last_id.bytes() {
        token.push(char::from(HEX[usize::from(b >> 4)]));
        token.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    token
}

/// The last id of the previous page, or `None` for a token this simulator did not issue.
pub fn decode_token(token: &str) -> Option<String> {
    let hex = token.strip_prefix(PREFIX)?.as_bytes();
    if hex.is_empty() || hex.len() % 2 != 0 {
        return None;
    }
    let bytes = hex
        .chunks(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// One page of `sorted_ids` after `after`, keeping ids for which `keep` holds.
/// Returns the page and whether another matching id follows it.
pub fn page<'a>(
    sorted_ids: &'a [String],
    after: Option<&str>,
    limit: usize,
    mut keep: impl FnMut(&str) -> bool,
) -> (Vec<&'a str>, bool) {
    let start = after.map_or(0, |a| sorted_ids.partition_point(|id| id.as_str() <= a));
    let mut matching = sorted_ids[start..]
        .iter()
        .map(String::as_str)
        .filter(|id| keep(id));
    let items: Vec<&str> = matching.by_ref().take(limit).collect();
    // Look one past the page so the last page carries no NextToken.
    let more = matching.next().is_some();
    (items, more)
}

/// One page of `items` (in their own order) after the item whose key `token`
/// carries, and the NextToken of the next page: for the short, ordered lists of a
/// workload or lens (questions, lens reviews, lenses). A token naming no item is a
/// 400.
pub fn page_after<'a, T>(
    items: &'a [T],
    token: Option<&str>,
    limit: usize,
    key: impl Fn(&T) -> &str,
) -> Result<(&'a [T], Option<String>), ApiError> {
    let start = match token {
        None => 0,
        Some(t) => {
            let last = decode_token(t);
            let at = last.and_then(|last| items.iter().position(|i| key(i) == last));
            at.ok_or_else(|| ApiError::field("NextToken", "Invalid NextToken"))? + 1
        }
    };
    let page = &items[start..items.len().min(start + limit)];
    let next = (start + page.len() < items.len())
        .then(|| page.last().map(|i| encode_token(key(i))))
        .flatten();
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trips_and_matches_model_pattern() {
        let id = "0123456789abcdef0123456789abcdef";
        let token = encode_token(id);
        assert!(
            token
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+/=_-".contains(c))
        );
        assert_eq!(decode_token(&token).as_deref(), Some(id));
    }

    #[test]
    fn foreign_tokens_are_rejected() {
        for bad in ["", "sim1-", "sim1-abc", "sim1-zz", "other-00", "0123"] {
            assert_eq!(decode_token(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn pages_cover_every_id_once_even_when_ids_are_inserted_between_pages() {
        let mut ids: Vec<String> = (0..25).map(|i| format!("{:032x}", i * 2)).collect();
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        let mut pages = 0;
        loop {
            let (items, more) = page(&ids, after.as_deref(), 7, |_| true);
            seen.extend(items.iter().map(|s| s.to_string()));
            after = items.last().map(|s| s.to_string());
            // An odd id lands before the cursor: offset paging would repeat an item.
            ids.push(format!("{:032x}", 2 * pages + 1));
            ids.sort();
            pages += 1;
            if !more {
                break;
            }
        }
        let expected: Vec<String> = (0..25).map(|i| format!("{:032x}", i * 2)).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn pages_after_a_key_cover_the_list_and_reject_foreign_tokens() {
        let items = ["a", "b", "c"];
        let (first, next) = page_after(&items, None, 2, |s| s).unwrap();
        assert_eq!(first, ["a", "b"]);
        let (rest, next) = page_after(&items, next.as_deref(), 2, |s| s).unwrap();
        assert_eq!((rest, next), (&["c"][..], None));
        assert!(page_after(&items, Some(&encode_token("z")), 2, |s| s).is_err());
        assert!(page_after(&items, Some("bogus"), 2, |s| s).is_err());
    }

    #[test]
    fn filter_applies_and_last_page_has_no_more() {
        let ids: Vec<String> = (0..10).map(|i| format!("{i:032x}")).collect();
        let even = |id: &str| id.ends_with(['0', '2', '4', '6', '8']);
        let (first, more) = page(&ids, None, 3, even);
        assert_eq!(first.len(), 3);
        assert!(more);
        let (second, more) = page(&ids, first.last().copied(), 3, even);
        assert_eq!(second.len(), 2);
        assert!(!more);
    }
}
