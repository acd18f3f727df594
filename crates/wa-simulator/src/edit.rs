//! Workload changes shared by the HTTP operations (TagResource, UntagResource,
//! UpdateWorkload, DeleteWorkload) and the in-process admin API, so both validate
//! and apply them the same way. Every function validates before it writes.

use std::collections::BTreeMap;

use super::store::{Store, Workload, validate_tag_key, validate_tags};
use super::types::WorkloadUpdate;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("no workload {0}")]
    NoWorkload(String),
    /// `field` is the model's member name.
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("workload name {name:?} is already used by workload {other} of the same owner")]
    NameTaken { name: String, other: String },
}

fn invalid(field: &'static str, message: impl Into<String>) -> EditError {
    EditError::Invalid {
        field,
        message: message.into(),
    }
}

fn workload_mut<'a>(store: &'a mut Store, id: &str) -> Result<&'a mut Workload, EditError> {
    store
        .get_mut(id)
        .ok_or_else(|| EditError::NoWorkload(id.to_string()))
}

/// TagResource: adds `tags`, replacing the values of keys the workload already has.
pub fn add_tags(
    store: &mut Store,
    id: &str,
    tags: &BTreeMap<String, String>,
) -> Result<(), EditError> {
    if tags.is_empty() {
        return Err(invalid("Tags", "at least one tag is required"));
    }
    validate_tags(tags).map_err(|m| invalid("Tags", m))?;
    let w = workload_mut(store, id)?;
    let mut merged = w.tags.clone();
    merged.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    validate_tags(&merged).map_err(|m| invalid("Tags", format!("after tagging, {m}")))?;
    w.tags = merged;
    w.touch();
    Ok(())
}

/// UntagResource: removes the tags with these keys; keys the workload lacks are
/// ignored.
pub fn remove_tags(store: &mut Store, id: &str, keys: &[String]) -> Result<(), EditError> {
    if !(1..=50).contains(&keys.len()) {
        let message = format!("{} tag keys given, 1-50 are allowed", keys.len());
        return Err(invalid("TagKeys", message));
    }
    for key in keys {
        validate_tag_key(key).map_err(|m| invalid("TagKeys", m))?;
    }
    let w = workload_mut(store, id)?;
    let before = w.tags.len();
    w.tags.retain(|k, _| !keys.contains(k));
    if w.tags.len() != before {
        w.touch();
    }
    Ok(())
}

/// DeleteWorkload. A retry with the `token` of a delete that succeeded succeeds
/// again, as the ClientRequestToken documentation promises.
pub fn delete(store: &mut Store, id: &str, token: Option<&str>) -> Result<(), EditError> {
    if store.remove(id).is_some() {
        if let Some(token) = token {
            store.remember_delete(token, id);
        }
        return Ok(());
    }
    match token {
        Some(token) if store.deleted_by(token) == Some(id) => Ok(()),
        _ => Err(EditError::NoWorkload(id.to_string())),
    }
}

/// UpdateWorkload: validates every member, then the name's uniqueness, then applies.
pub fn update(store: &mut Store, id: &str, update: &WorkloadUpdate) -> Result<(), EditError> {
    let checked = CheckedUpdate::new(update)?;
    let owner = workload_mut(store, id)?.owner.clone();
    if let Some(name) = &update.name
        && let Some(other) = store
            .iter()
            .find(|w| w.id != id && w.owner == owner && same_name(&w.name, name))
    {
        return Err(EditError::NameTaken {
            name: name.clone(),
            other: other.id.clone(),
        });
    }
    let w = workload_mut(store, id)?;
    if let Some(name) = &update.name {
        w.name = name.clone();
    }
    let p = &mut w.profile;
    let set = |slot: &mut Option<String>, value: &Option<String>| {
        if value.is_some() {
            slot.clone_from(value);
        }
    };
    set(&mut p.description, &update.description);
    set(&mut p.review_owner, &update.review_owner);
    set(&mut p.notes, &update.notes);
    p.environment = checked.environment.or(p.environment);
    p.improvement_status = checked.improvement_status.or(p.improvement_status);
    w.touch();
    Ok(())
}

/// The model: "Spaces and capitalization are ignored when checking for uniqueness."
fn same_name(a: &str, b: &str) -> bool {
    let key = |s: &str| {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    key(a) == key(b)
}

const ENVIRONMENTS: [&str; 2] = ["PRODUCTION", "PREPRODUCTION"];
const IMPROVEMENT_STATUSES: [&str; 5] = [
    "NOT_APPLICABLE",
    "NOT_STARTED",
    "IN_PROGRESS",
    "COMPLETE",
    "RISK_ACKNOWLEDGED",
];

/// An update whose members passed the model's constraints; enums as `'static` values.
struct CheckedUpdate {
    environment: Option<&'static str>,
    improvement_status: Option<&'static str>,
}

impl CheckedUpdate {
    fn new(u: &WorkloadUpdate) -> Result<Self, EditError> {
        let lengths = [
            ("WorkloadName", &u.name, 3, 100),
            ("Description", &u.description, 3, 250),
            ("ReviewOwner", &u.review_owner, 3, 255),
            ("Notes", &u.notes, 0, 2084),
        ];
        for (field, value, min, max) in lengths {
            if let Some(v) = value
                && !(min..=max).contains(&v.chars().count())
            {
                return Err(invalid(field, format!("must be {min}-{max} characters")));
            }
        }
        Ok(Self {
            environment: one_of("Environment", &u.environment, &ENVIRONMENTS)?,
            improvement_status: one_of(
                "ImprovementStatus",
                &u.improvement_status,
                &IMPROVEMENT_STATUSES,
            )?,
        })
    }
}

fn one_of(
    field: &'static str,
    value: &Option<String>,
    allowed: &[&'static str],
) -> Result<Option<&'static str>, EditError> {
    let Some(value) = value else { return Ok(None) };
    match allowed.iter().find(|a| **a == value) {
        Some(a) => Ok(Some(a)),
        None => Err(invalid(
            field,
            format!("{value:?} is not one of {}", allowed.join(", ")),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::WorkloadSpec;

    fn store_with(names: &[&str]) -> (Store, Vec<String>) {
        let mut store = Store::default();
        let ids: Vec<String> = (0..names.len()).map(|i| format!("{i:032x}")).collect();
        for (id, name) in ids.iter().zip(names) {
            let spec = WorkloadSpec {
                name: name.to_string(),
                ..WorkloadSpec::default()
            };
            let w = Workload::from_spec(&spec, "us-east-1", id.clone(), 0.0).unwrap();
            store.insert(w).unwrap();
        }
        (store, ids)
    }

    #[test]
    fn tags_merge_and_untag_ignores_unknown_keys() {
        let (mut store, ids) = store_with(&["tagged"]);
        let tags = |pairs: &[(&str, &str)]| {
            let pairs = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()));
            pairs.collect::<BTreeMap<_, _>>()
        };
        add_tags(&mut store, &ids[0], &tags(&[("a", "1"), ("b", "2")])).unwrap();
        add_tags(&mut store, &ids[0], &tags(&[("b", "3")])).unwrap();
        assert_eq!(
            store.get(&ids[0]).unwrap().tags,
            tags(&[("a", "1"), ("b", "3")])
        );
        remove_tags(&mut store, &ids[0], &["b".into(), "zz".into()]).unwrap();
        assert_eq!(store.get(&ids[0]).unwrap().tags, tags(&[("a", "1")]));

        let err = |e: EditError| match e {
            EditError::Invalid { field, .. } => field,
            other => panic!("{other}"),
        };
        let bad = add_tags(&mut store, &ids[0], &tags(&[("tab\there", "x")]));
        assert_eq!(err(bad.unwrap_err()), "Tags");
        assert_eq!(
            err(remove_tags(&mut store, &ids[0], &[]).unwrap_err()),
            "TagKeys"
        );
        let many: BTreeMap<_, _> = (0..50).map(|i| (format!("k{i}"), String::new())).collect();
        assert_eq!(
            err(add_tags(&mut store, &ids[0], &many).unwrap_err()),
            "Tags"
        );
        assert_eq!(
            store.get(&ids[0]).unwrap().tags.len(),
            1,
            "nothing half-applied"
        );
    }

    #[test]
    fn update_checks_members_and_name_uniqueness_first() {
        let (mut store, ids) = store_with(&["Payments API", "orders"]);
        let rename = |name: &str| WorkloadUpdate {
            name: Some(name.into()),
            environment: Some("PREPRODUCTION".into()),
            ..WorkloadUpdate::default()
        };
        let taken = update(&mut store, &ids[1], &rename("payments  api"));
        assert!(
            matches!(taken, Err(EditError::NameTaken { .. })),
            "{taken:?}"
        );
        let bad_env = WorkloadUpdate {
            environment: Some("STAGING".into()),
            ..rename("fine")
        };
        assert!(update(&mut store, &ids[1], &bad_env).is_err());
        assert_eq!(store.get(&ids[1]).unwrap().name, "orders");

        update(&mut store, &ids[1], &rename("Orders v2")).unwrap();
        let w = store.get(&ids[1]).unwrap();
        assert_eq!(
            (w.name.as_str(), w.profile.environment),
            ("Orders v2", Some("PREPRODUCTION"))
        );
        // Renaming a workload to its own name (another spelling) is no conflict.
        update(&mut store, &ids[1], &rename("ordersV2")).unwrap();
    }

    #[test]
    fn delete_is_idempotent_per_token() {
        let (mut store, ids) = store_with(&["doomed"]);
        delete(&mut store, &ids[0], Some("t1")).unwrap();
        delete(&mut store, &ids[0], Some("t1")).unwrap();
        assert_eq!(
            delete(&mut store, &ids[0], Some("t2")),
            Err(EditError::NoWorkload(ids[0].clone()))
        );
        assert!(store.get(&ids[0]).is_none());
    }
}
