//! How text reaches people: values others control (workload names, reasons,
//! notes, actors) made safe for a terminal, and error chains told once.
//!
//! A workload's owner names it, and that name is printed by `controls`,
//! `history`, `explain`, `enforce --plan` and the demo. Printed raw, `ESC [2J`
//! clears the reader's screen, a newline forges table rows, and a right-to-left
//! override makes `alarm` read as `mrala`. [`Terminal`] shows every such
//! character as a visible escape instead. Machine formats (JSON, CSV, YAML) keep
//! values exact and do not use it.

use std::borrow::Cow;
use std::error::Error;
use std::fmt::{self, Display, Write};

/// Whether `c` changes what a terminal shows instead of being shown: C0 controls
/// (including ESC, BEL, tab, CR and LF), DEL, C1 controls, and the Unicode
/// bidirectional controls (embeddings, overrides, isolates, marks).
fn is_hidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every hidden character written as a visible escape: `\n`, `\r`,
/// `\t`, or `\u{1b}` for the others; unchanged (and not copied) when it has none.
/// Backslashes are left as they are: the escape only has to be harmless, not
/// reversible.
pub fn terminal(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => shown.push_str("\\n"),
            '\r' => shown.push_str("\\r"),
            '\t' => shown.push_str("\\t"),
            c if is_hidden(c) => {
                let _ = write!(shown, "\\u{{{:x}}}", c as u32);
            }
            c => shown.push(c),
        }
    }
    Cow::Owned(shown)
}

/// Shows a value through [`terminal`]; width and alignment (`{:<28}`) apply to
/// the escaped text.
pub struct Terminal<T>(pub T);

impl<T: Display> Display for Terminal<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.to_string();
        f.pad(&terminal(&text))
    }
}

/// An error and its causes on one line, `outer: cause: root`, each told once.
///
/// Many errors already print their cause in their own message (thiserror's
/// `"…: {source}"`, sqlx's `Error::Database`), and `{:#}` then prints it again
/// for every level: a corrupt SQLite file said "file is not a database" three
/// times. A cause whose message is already part of the line so far is skipped.
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

/// The chain of an `anyhow` error, as [`ErrorChain`] shows it.
pub fn chain(error: &anyhow::Error) -> ErrorChain<'_> {
    ErrorChain(error.as_ref())
}

impl Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut cause = self.0.source();
        while let Some(error) = cause {
            let message = error.to_string();
            if !message.is_empty() && !line.contains(&message) {
                line.push_str(": ");
                line.push_str(&message);
            }
            cause = error.source();
        }
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_and_bidi_characters_are_shown_escaped() {
        assert_eq!(
            terminal("a\u{1b}[2Jb\u{7}c\nd\re\tf\u{7f}g\u{9b}h"),
            "a\\u{1b}[2Jb\\u{7}c\\nd\\re\\tf\\u{7f}g\\u{9b}h"
        );
        for bidi in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            let shown = terminal(&format!("x{bidi}y")).into_owned();
            assert_eq!(shown, format!("x\\u{{{:x}}}y", bidi as u32));
        }
    }

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in ["prod-api", "équipe données", "名前", "a\\nb", "—·→"] {
            assert!(matches!(terminal(text), Cow::Borrowed(t) if t == text));
        }
    }

    #[test]
    fn padding_applies_to_the_escaped_text() {
        assert_eq!(format!("[{:<6}]", Terminal("a\nb")), "[a\\nb  ]");
        assert_eq!(format!("[{:>3}]", Terminal(7)), "[  7]");
    }

    #[derive(Debug)]
    struct Wrapping(&'static str, Option<Box<Wrapping>>);

    impl Display for Wrapping {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Wrapping {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn a_cause_already_in_the_message_is_told_once() {
        // As a corrupt SQLite file's open error nests: each level repeats the next.
        let root = Wrapping("(code: 26) file is not a database", None);
        let sqlx = Wrapping(
            "error returned from database: (code: 26) file is not a database",
            Some(Box::new(root)),
        );
        let open = Wrapping(
            "cannot open the database sqlite://x.db: error returned from database: (code: 26) file is not a database",
            Some(Box::new(sqlx)),
        );
        let line = ErrorChain(&open).to_string();
        assert_eq!(line.matches("file is not a database").count(), 1, "{line}");
        assert_eq!(
            line,
            "cannot open the database sqlite://x.db: error returned from database: (code: 26) file is not a database"
        );
    }

    #[test]
    fn causes_not_in_the_message_are_appended() {
        let error = anyhow::anyhow!("disk full").context("commit a transition");
        assert_eq!(chain(&error).to_string(), "commit a transition: disk full");
    }
}
