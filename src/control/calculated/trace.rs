//! What one calculation leaves in the control's `details`: never what it read.
//!
//! A calculation's input may be other controls' `details` (a `template_input`
//! on `controls { items { details } }`), so storing the input made each
//! evaluation store the last one's and `details` grew without bound (issue 21,
//! finding 1). A trace keeps the template, the output, the error, and of the
//! input only its size, its SHA-256 and a short excerpt: every field is bounded
//! here, whatever the input, the template or the error.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The largest input (the `template_input` result, as compact JSON) a
/// calculation reads; larger is refused with an error naming this bound.
pub const MAX_INPUT_BYTES: usize = 64 * 1024;
/// The input excerpt kept for `explain`: enough to recognise it, not to grow.
pub const MAX_EXCERPT_BYTES: usize = 256;
/// An error message as stored (a template or query error can quote its input).
pub const MAX_ERROR_BYTES: usize = 512;

/// What one calculation did, for `explain`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalculationTrace {
    /// The template as configured (configuration bounds its length).
    pub template: String,
    /// What the template read, summarised, when the query ran. (Traces stored
    /// before this field held the whole input under `input`, now ignored.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_digest: Option<InputDigest>,
    /// The rendered, trimmed value (bounded by the renderer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Why there is no value: a query error or a render error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The input of a calculation as stored: its size, digest and first bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputDigest {
    /// Its length as compact JSON.
    pub bytes: usize,
    /// SHA-256 of that JSON, in lowercase hex: equal inputs, equal digests.
    pub sha256: String,
    /// Its first [`MAX_EXCERPT_BYTES`] bytes (cut at a character), `…` if cut.
    pub excerpt: String,
}

impl InputDigest {
    /// The summary of `json`, an input serialised compactly.
    pub fn of(json: &str) -> InputDigest {
        let sha256 = Sha256::digest(json.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        InputDigest {
            bytes: json.len(),
            sha256,
            excerpt: bounded_text(json, MAX_EXCERPT_BYTES),
        }
    }
}

impl CalculationTrace {
    /// A calculation that produced `output`, or failed with `error`.
    pub fn new(
        template: &str,
        input_digest: Option<InputDigest>,
        result: Result<String, String>,
    ) -> CalculationTrace {
        let (output, error) = match result {
            Ok(output) => (Some(output), None),
            Err(error) => (None, Some(bounded_text(&error, MAX_ERROR_BYTES))),
        };
        CalculationTrace {
            template: template.to_owned(),
            input_digest,
            output,
            error,
        }
    }
}

/// `text` cut to at most `max` bytes at a character boundary, `…` marking a cut
/// (so the result is at most `max + 3` bytes).
pub fn bounded_text(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_is_bounded_whatever_the_input() {
        let big = format!("{{\"a\":\"{}\"}}", "é".repeat(100_000));
        let digest = InputDigest::of(&big);
        assert_eq!(digest.bytes, big.len());
        assert_eq!(digest.sha256.len(), 64);
        assert!(
            digest.excerpt.len() <= MAX_EXCERPT_BYTES + 3,
            "{}",
            digest.excerpt.len()
        );
        assert!(digest.excerpt.ends_with('…'));
        assert_eq!(InputDigest::of("{}").excerpt, "{}");
        // Known answer: SHA-256 of "{}".
        assert_eq!(
            InputDigest::of("{}").sha256,
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn errors_are_stored_bounded() {
        let trace = CalculationTrace::new("t", None, Err("x".repeat(10_000)));
        assert!(trace.error.unwrap().len() <= MAX_ERROR_BYTES + 3);
    }

    #[test]
    fn traces_stored_with_a_whole_input_still_read() {
        let old = r#"{"template":"True","input":{"huge":[1,2,3]},"output":"True"}"#;
        let trace: CalculationTrace = serde_json::from_str(old).unwrap();
        assert_eq!(trace.output.as_deref(), Some("True"));
        assert_eq!(trace.input_digest, None);
        assert!(!serde_json::to_string(&trace).unwrap().contains("huge"));
    }
}
