//! The two documented tables as Rust values.

use anyhow::Context;
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::key::ControlKey;
use crate::control::ControlState;

/// One row of `controls`: the current state of one control.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ControlRow {
    pub workload_id: String,
    pub workload_arn: String,
    pub workload_name: String,
    pub account_id: String,
    pub region: String,
    pub control_type: String,
    /// The lens as configured (alias or lens ARN); with `question_id` and
    /// `workload_arn`, the control's identity.
    pub lens: String,
    pub question_id: String,
    /// The lens review's LensStatus as last read (`CURRENT`, `NOT_CURRENT`, …);
    /// `None` until read.
    pub lens_status: Option<String>,
    pub state: ControlState,
    pub reason: String,
    pub details: JsonText,
    pub created_at: String,
    pub updated_at: String,
    pub evaluated_at: Option<String>,
    pub removed_at: Option<String>,
    /// Whether a mute is in force now (transitions are recorded, not announced).
    pub muted: bool,
    /// The latest mute, also when it has expired.
    pub mute: Option<Mute>,
    #[serde(skip)]
    pub scanned_by: String,
    #[serde(skip)]
    pub version: i64,
    /// The replica whose claim on the control was in the row as read (see
    /// [`crate::store::Store::claim_control`]); recording releases it.
    #[serde(skip)]
    pub claimed_by: Option<String>,
}

/// JSON kept as the text it was stored as (a control's `details`).
///
/// A sweep holds a few thousand controls at once and only compares their details
/// with a new evaluation's: parsed, each was ~4 KiB of small allocations (and the
/// parse cost more CPU than the comparison). The text is what rel04d wrote, the
/// compact serialization of a `serde_json::Value`, whose maps are sorted, so two
/// texts are equal exactly when the values are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonText(Box<str>);

impl JsonText {
    /// Checks that `text` is JSON; a malformed one is an error naming it.
    pub fn parse(text: String) -> anyhow::Result<Self> {
        serde_json::from_str::<serde::de::IgnoredAny>(&text)
            .with_context(|| format!("stored JSON is malformed: {text:.80}"))?;
        Ok(JsonText(text.into_boxed_str()))
    }

    pub fn of(value: &serde_json::Value) -> Self {
        JsonText(value.to_string().into_boxed_str())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The parsed value (the text was checked when it was read).
    pub fn value(&self) -> serde_json::Value {
        serde_json::from_str(&self.0).unwrap_or_default()
    }

    /// Whether this is the text `value` is written as.
    pub fn is(&self, value: &serde_json::Value) -> bool {
        *self.0 == *value.to_string()
    }
}

impl Serialize for JsonText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

/// A mute on a control.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mute {
    pub since: String,
    /// Muted until this time, when set.
    pub until: Option<String>,
    /// Muted until the control reaches this state, when set.
    pub until_state: Option<String>,
    pub by: String,
    pub reason: String,
}

impl Mute {
    /// In force at `now` (a timestamp in the database's format)?
    pub fn is_active(&self, now: &str) -> bool {
        self.until.as_deref().is_none_or(|until| until > now)
    }
}

/// One row of `transitions`: one state change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TransitionRow {
    pub id: i64,
    pub workload_id: String,
    pub workload_arn: String,
    pub account_id: String,
    pub region: String,
    pub control_type: String,
    pub lens: String,
    pub question_id: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub reason: String,
    pub details: serde_json::Value,
    pub trigger: String,
    pub event_id: Option<String>,
    pub action: Option<String>,
    pub changes: Option<serde_json::Value>,
    /// Happened while the control was muted, so was not announced.
    pub muted: bool,
    pub occurred_at: String,
}

pub(super) const CONTROL_COLUMNS: &str = "workload_id, workload_arn, workload_name, account_id, region, \
     control_type, lens, question_id, lens_status, state, reason, details, created_at, updated_at, evaluated_at, removed_at, \
     scanned_by, version, lease_owner, muted_at, muted_until, muted_until_state, muted_by, muted_reason";

pub(super) const TRANSITION_COLUMNS: &str = "id, workload_id, workload_arn, account_id, region, \
     control_type, lens, question_id, from_state, to_state, reason, details, \"trigger\", event_id, action, changes, \
     muted, occurred_at";

fn json(text: &str) -> anyhow::Result<serde_json::Value> {
    serde_json::from_str(text).with_context(|| format!("stored JSON is malformed: {text:.80}"))
}

impl ControlRow {
    pub(super) fn from_row(row: &AnyRow) -> anyhow::Result<Self> {
        let muted_at: Option<String> = row.try_get("muted_at")?;
        let mute = match muted_at {
            None => None,
            Some(since) => Some(Mute {
                since,
                until: row.try_get("muted_until")?,
                until_state: row.try_get("muted_until_state")?,
                by: row
                    .try_get::<Option<String>, _>("muted_by")?
                    .unwrap_or_default(),
                reason: row
                    .try_get::<Option<String>, _>("muted_reason")?
                    .unwrap_or_default(),
            }),
        };
        let muted = mute
            .as_ref()
            .is_some_and(|m| m.is_active(&super::timestamp(chrono::Utc::now())));
        Ok(ControlRow {
            workload_id: row.try_get("workload_id")?,
            workload_arn: row.try_get("workload_arn")?,
            workload_name: row.try_get("workload_name")?,
            account_id: row.try_get("account_id")?,
            region: row.try_get("region")?,
            control_type: row.try_get("control_type")?,
            lens: row.try_get("lens")?,
            question_id: row.try_get("question_id")?,
            lens_status: row.try_get("lens_status")?,
            state: {
                let state: String = row.try_get("state")?;
                state
                    .parse()
                    .map_err(|e: String| anyhow::anyhow!("stored control state: {e}"))?
            },
            reason: row.try_get("reason")?,
            details: JsonText::parse(row.try_get("details")?)?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            evaluated_at: row.try_get("evaluated_at")?,
            removed_at: row.try_get("removed_at")?,
            scanned_by: row.try_get("scanned_by")?,
            version: row.try_get("version")?,
            claimed_by: row.try_get("lease_owner")?,
            muted,
            mute,
        })
    }

    /// The control's identity.
    pub fn key(&self) -> ControlKey {
        ControlKey::new(&self.workload_arn, &self.lens, &self.question_id)
    }

    pub fn is_removed(&self) -> bool {
        self.removed_at.is_some()
    }
}

impl TransitionRow {
    pub(super) fn from_row(row: &AnyRow) -> anyhow::Result<Self> {
        let changes: Option<String> = row.try_get("changes")?;
        Ok(TransitionRow {
            id: row.try_get("id")?,
            workload_id: row.try_get("workload_id")?,
            workload_arn: row.try_get("workload_arn")?,
            account_id: row.try_get("account_id")?,
            region: row.try_get("region")?,
            control_type: row.try_get("control_type")?,
            lens: row.try_get("lens")?,
            question_id: row.try_get("question_id")?,
            from_state: row.try_get("from_state")?,
            to_state: row.try_get("to_state")?,
            reason: row.try_get("reason")?,
            details: json(&row.try_get::<String, _>("details")?)?,
            trigger: row.try_get("trigger")?,
            event_id: row.try_get("event_id")?,
            action: row.try_get("action")?,
            changes: changes.as_deref().map(json).transpose()?,
            muted: row.try_get::<i64, _>("muted")? != 0,
            occurred_at: row.try_get("occurred_at")?,
        })
    }

    /// The identity of the control the transition is of.
    pub fn key(&self) -> ControlKey {
        ControlKey::new(&self.workload_arn, &self.lens, &self.question_id)
    }
}

#[cfg(test)]
mod tests {
    use super::JsonText;
    use serde_json::json;

    #[test]
    fn json_text_is_the_value_it_was_written_from() {
        let value = json!({"b": [1, {"y": null, "x": "é"}], "a": 2.5});
        let stored = JsonText::parse(value.to_string()).unwrap();
        assert!(stored.is(&value));
        assert_eq!(stored.value(), value);
        assert_eq!(serde_json::to_value(&stored).unwrap(), value);
        // Any difference in a value, a key or a nesting is a different text.
        assert!(!stored.is(&json!({"b": [1, {"y": null, "x": "e"}], "a": 2.5})));
        assert!(!stored.is(&json!({"b": [1, {"y": null, "x": "é"}], "a": 2.5, "c": {}})));
        assert!(!stored.is(&json!({"b": [{"y": null, "x": "é"}, 1], "a": 2.5})));
    }

    #[test]
    fn malformed_stored_json_is_an_error_that_shows_it() {
        let error = JsonText::parse("{\"state\": ".to_owned()).unwrap_err();
        assert!(format!("{error:#}").contains("stored JSON is malformed: {\"state\": "));
    }
}
