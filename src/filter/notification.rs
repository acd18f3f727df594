//! Guardrails' notification types, as `notificationType:` / `type:` values.

/// Guardrails' notification families; each is also written `<family>_created`,
/// `_updated` or `_deleted`. Only `control` notifications are rel04d's.
const NOTIFICATION_FAMILIES: [&str; 10] = [
    "control",
    "resource",
    "policy_setting",
    "policy_value",
    "action",
    "scheduled_action",
    "grant",
    "active_grants",
    "favorite",
    "watch",
];

/// What a notification type value matches in rel04d's history: `control` (every
/// transition), `control_created` (a control's first state), `control_updated`,
/// `control_deleted` (to `removed`), or `none` (another family's type).
pub const NOTIFICATION_KINDS: [&str; 5] = [
    "control",
    "control_created",
    "control_updated",
    "control_deleted",
    "none",
];

pub fn notification_kind(value: &str) -> Result<&'static str, String> {
    let family = ["_created", "_updated", "_deleted"]
        .iter()
        .find_map(|suffix| value.strip_suffix(suffix))
        .unwrap_or(value);
    if !NOTIFICATION_FAMILIES.contains(&family) {
        return Err(format!(
            "unknown notification type {value:?}; types are {} (each also as _created, _updated, _deleted)",
            NOTIFICATION_FAMILIES.join(", ")
        ));
    }
    Ok(NOTIFICATION_KINDS
        .iter()
        .find(|kind| **kind == value)
        .copied()
        .unwrap_or("none"))
}
