//! What a term's value becomes: a list of values, a regex, resource scopes or
//! time bounds, with Guardrails' spellings resolved to rel04d's.

use chrono::{DateTime, Utc};

use crate::control::question::{CUSTOM_LENS_TYPE_PREFIX, FRAMEWORK_TYPE_PREFIX};

use super::{
    CONTROL_TYPE, ControlState, GUARDRAILS_CONTROL_TYPE, GUARDRAILS_RESOURCE_TYPE, Key,
    LENS_STATUSES, Matcher, catalogue, is_regex, notification, regex, scope, time,
};

/// Whether `value` names this control type in one of Guardrails' spellings for
/// the key `name` (a control type, or a resource type holding workloads).
/// A type id that is not a type URI at all is an error naming it.
fn is_this_type(name: &str, value: &str) -> Result<bool, String> {
    match name {
        "resourceTypeId" => scope::type_holds_workloads(value).ok_or_else(|| {
            format!(
                "{value:?} is not a resource type URI (tmod:@org/mod#/resource/types/name); \
                 workloads are {GUARDRAILS_RESOURCE_TYPE}"
            )
        }),
        "controlTypeId"
            if value != GUARDRAILS_CONTROL_TYPE
                && !(value.starts_with("tmod:@") && value.contains("#/control/types/")) =>
        {
            Err(format!(
                "{value:?} is not a control type URI (tmod:@org/mod#/control/types/name); \
                 REL 04 is {GUARDRAILS_CONTROL_TYPE}"
            ))
        }
        _ => Ok(value == GUARDRAILS_CONTROL_TYPE),
    }
}

/// The `control_type` column's value for a control type URI: the name after
/// `#/control/types/` of the Framework's or rel04d's custom-lens prefix (`rel05`,
/// `retention`); any other URI as written, which no control has.
fn short_type(uri: &str) -> &str {
    [FRAMEWORK_TYPE_PREFIX, CUSTOM_LENS_TYPE_PREFIX]
        .iter()
        .find_map(|prefix| uri.strip_prefix(prefix))
        .unwrap_or(uri)
}

pub(super) fn matcher(
    key: Key,
    name: &str,
    value: &str,
    now: DateTime<Utc>,
) -> Result<Matcher, String> {
    if is_regex(value) {
        if matches!(key, Key::Time(_) | Key::Notification | Key::LensStatus) {
            return Err(format!("{name} takes no regex"));
        }
        return regex(&value[1..value.len() - 1]).map(Matcher::Regex);
    }
    if let Key::Time(_) = key {
        return time::bounds(value, now).map(Matcher::Times);
    }
    if value.split(',').any(str::is_empty) {
        return Err("empty value in list".to_owned());
    }
    if key == Key::Scope {
        let scopes = value
            .split(',')
            .map(scope::scope)
            .collect::<Result<_, _>>()?;
        return Ok(Matcher::Scopes(scopes));
    }
    let mut values = Vec::new();
    for raw in value.split(',') {
        match key {
            Key::State if raw == "active" => {
                values.extend(ControlState::ACTIVE.map(|s| s.as_str().to_owned()));
            }
            Key::State => {
                raw.parse::<ControlState>()
                    .map_err(|_| format!("unknown state {raw:?}; states are tbd, skipped, invalid, error, ok, alarm, removed, active"))?;
                values.push(raw.to_owned());
            }
            Key::ControlType if !catalogue::is_catalogue_key(name) && is_this_type(name, raw)? => {
                values.push(CONTROL_TYPE.to_owned())
            }
            Key::ControlType if name == "resourceType" => values.push(scope::partial_type(raw)),
            Key::ControlType if name == "controlTypeId" => values.push(short_type(raw).to_owned()),
            Key::ControlType if catalogue::is_catalogue_key(name) => {
                values.push(match catalogue::holds_rel04(name, raw)? {
                    true => CONTROL_TYPE.to_owned(),
                    false => raw.to_owned(),
                });
            }
            Key::Notification => values.push(notification::notification_kind(raw)?.to_owned()),
            Key::LensStatus if !LENS_STATUSES.contains(&raw) => {
                return Err(format!(
                    "unknown lens status {raw:?}; lens statuses are {}",
                    LENS_STATUSES.join(", ")
                ));
            }
            _ => values.push(raw.to_owned()),
        }
    }
    Ok(Matcher::AnyOf(values))
}
