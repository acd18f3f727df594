//! Splitting a filter into its terms.

/// Splits on whitespace, keeping `"quoted values"` and `/regexes/` whole. The
/// second value is the last token when its quote or regex was never closed.
pub(super) fn tokens(text: &str) -> (Vec<String>, Option<String>) {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let mut closing: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match closing {
            Some(end) if c == '\\' && end == '/' => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            Some(end) if c == end => {
                closing = None;
                if end == '/' {
                    current.push(c);
                }
            }
            Some(_) => current.push(c),
            None if c.is_whitespace() => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
            // A quote opens a value, also a later one in a list: `key:'a','b'`.
            None if (c == '"' || c == '\'')
                && (current.ends_with(':')
                    || (current.ends_with(',') && current.contains(':'))) =>
            {
                closing = Some(c)
            }
            None if c == '/' && current.ends_with(':') => {
                closing = Some('/');
                current.push(c);
            }
            None => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    let unterminated = closing.and_then(|_| tokens.last().cloned());
    (tokens, unterminated)
}
