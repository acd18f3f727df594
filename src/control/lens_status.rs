//! The status of a workload's lens review, as the Tool's `LensStatus`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `ListLensReviews`' `LensStatus` of one (workload, lens). A status the Tool adds
/// later is kept as its text rather than dropped.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LensStatus {
    Current,
    NotCurrent,
    Deprecated,
    Deleted,
    Unshared,
    Other(String),
}

impl LensStatus {
    /// Reads the Tool's string; anything unknown is kept as given.
    pub fn parse(text: &str) -> LensStatus {
        match text {
            "CURRENT" => LensStatus::Current,
            "NOT_CURRENT" => LensStatus::NotCurrent,
            "DEPRECATED" => LensStatus::Deprecated,
            "DELETED" => LensStatus::Deleted,
            "UNSHARED" => LensStatus::Unshared,
            other => LensStatus::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            LensStatus::Current => "CURRENT",
            LensStatus::NotCurrent => "NOT_CURRENT",
            LensStatus::Deprecated => "DEPRECATED",
            LensStatus::Deleted => "DELETED",
            LensStatus::Unshared => "UNSHARED",
            LensStatus::Other(text) => text,
        }
    }

    pub fn is_current(&self) -> bool {
        *self == LensStatus::Current
    }
}

impl fmt::Display for LensStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for LensStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for LensStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(LensStatus::parse(&String::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_status_round_trips_and_unknown_ones_keep_their_text() {
        for text in [
            "CURRENT",
            "NOT_CURRENT",
            "DEPRECATED",
            "DELETED",
            "UNSHARED",
        ] {
            let status = LensStatus::parse(text);
            assert!(!matches!(status, LensStatus::Other(_)), "{text}");
            assert_eq!(status.to_string(), text);
            let json = serde_json::to_string(&status).unwrap();
            assert_eq!(json, format!("\"{text}\""));
            assert_eq!(serde_json::from_str::<LensStatus>(&json).unwrap(), status);
        }
        let later = LensStatus::parse("ARCHIVED");
        assert_eq!(later, LensStatus::Other("ARCHIVED".to_owned()));
        assert_eq!(later.as_str(), "ARCHIVED");
        assert!(LensStatus::parse("CURRENT").is_current());
        assert!(!LensStatus::parse("current").is_current(), "exact match");
    }
}
