//! `aws.max_requests_per_second`: `"auto"` (learn each account-region's limit from
//! the Tool's throttling) or a fixed number of requests per second.
//!
//! A number may arrive as a TOML number or, from the environment layer, as text;
//! both mean a fixed rate. Any other word is refused, naming the key (serde's
//! error travels with its path).

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RequestRate {
    /// Start low, raise while calls succeed, cut on throttling, remember.
    Auto,
    /// Exactly this many requests per second, never more, never adapted.
    Fixed(f64),
}

impl Serialize for RequestRate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            RequestRate::Auto => serializer.serialize_str("auto"),
            RequestRate::Fixed(rate) => serializer.serialize_f64(*rate),
        }
    }
}

impl<'de> Deserialize<'de> for RequestRate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RateVisitor)
    }
}

struct RateVisitor;

impl Visitor<'_> for RateVisitor {
    type Value = RequestRate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"auto\" or a number of requests per second")
    }

    fn visit_f64<E: de::Error>(self, rate: f64) -> Result<RequestRate, E> {
        Ok(RequestRate::Fixed(rate))
    }

    fn visit_i64<E: de::Error>(self, rate: i64) -> Result<RequestRate, E> {
        Ok(RequestRate::Fixed(rate as f64))
    }

    fn visit_u64<E: de::Error>(self, rate: u64) -> Result<RequestRate, E> {
        Ok(RequestRate::Fixed(rate as f64))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<RequestRate, E> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("auto") {
            return Ok(RequestRate::Auto);
        }
        text.parse::<f64>().map(RequestRate::Fixed).map_err(|_| {
            E::custom(format!(
                "{text:?} is neither \"auto\" nor a number of requests per second"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<RequestRate, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn auto_numbers_and_numeric_text_are_accepted() {
        assert_eq!(parse("\"auto\""), Ok(RequestRate::Auto));
        assert_eq!(parse("\"AUTO\""), Ok(RequestRate::Auto));
        assert_eq!(parse("12.5"), Ok(RequestRate::Fixed(12.5)));
        assert_eq!(parse("20"), Ok(RequestRate::Fixed(20.0)));
        assert_eq!(parse("\"30\""), Ok(RequestRate::Fixed(30.0)));
    }

    #[test]
    fn other_words_are_refused_saying_what_is_allowed() {
        let error = parse("\"fast\"").unwrap_err();
        assert!(error.contains("neither \"auto\" nor a number"), "{error}");
        let error = parse("true").unwrap_err();
        assert!(error.contains("\"auto\" or a number"), "{error}");
    }

    #[test]
    fn it_serializes_back_to_what_was_written() {
        let json = |rate| serde_json::to_string(&rate).unwrap();
        assert_eq!(json(RequestRate::Auto), "\"auto\"");
        assert_eq!(json(RequestRate::Fixed(10.0)), "10.0");
    }
}
