//! Where REL 04 sits in Guardrails' catalogue: its control categories, the
//! policy types of its five policies, and the resource category of the
//! workload. Guardrails' filters select controls by these
//! (`controlCategoryId:`, `policyTypeId:`, `resourceCategoryId:`, and the
//! partial `controlCategory:`, `policyType:`, `resourceCategory:`); a control
//! here has them all, so a term naming one matches every control and a term
//! naming another category or type none.

/// Control categories from the root down, `(uri, title)`: each holds REL 04.
pub const CONTROL_CATEGORIES: [(&str, &str); 2] = [
    (
        "tmod:@turbot/aws-wellarchitected-framework#/control/categories/wellArchitectedFramework",
        "AWS Well-Architected Framework",
    ),
    (
        "tmod:@turbot/aws-wellarchitected-framework#/control/categories/reliability",
        "Reliability",
    ),
];

/// The policy types of REL 04's five policies (`[policies]` keys).
pub const POLICY_TYPES: [&str; 5] = [
    "tmod:@turbot/aws-wellarchitected-framework#/policy/types/rel04",
    "tmod:@turbot/aws-wellarchitected-framework#/policy/types/rel04Identify",
    "tmod:@turbot/aws-wellarchitected-framework#/policy/types/rel04LooselyCoupled",
    "tmod:@turbot/aws-wellarchitected-framework#/policy/types/rel04Idempotent",
    "tmod:@turbot/aws-wellarchitected-framework#/policy/types/rel04ConstantWork",
];

/// The resource categories of a workload.
pub const RESOURCE_CATEGORIES: [&str; 1] =
    ["tmod:@turbot/turbot#/resource/categories/managementAndGovernance"];

/// The catalogue keys and the URIs each names; `exact` keys take a URI, the
/// others a fragment of its name (case-insensitive), as Guardrails' partial keys do.
fn known(name: &str) -> Option<(Vec<&'static str>, bool)> {
    let categories = || CONTROL_CATEGORIES.iter().map(|(uri, _)| *uri).collect();
    Some(match name {
        "controlCategoryId" => (categories(), true),
        "controlCategory" => (categories(), false),
        "policyTypeId" => (POLICY_TYPES.to_vec(), true),
        "policyType" => (POLICY_TYPES.to_vec(), false),
        "resourceCategoryId" => (RESOURCE_CATEGORIES.to_vec(), true),
        "resourceCategory" => (RESOURCE_CATEGORIES.to_vec(), false),
        _ => return None,
    })
}

/// Whether `name` is a catalogue key.
pub fn is_catalogue_key(name: &str) -> bool {
    known(name).is_some()
}

/// Whether the catalogue term `name:value` holds REL 04. An exact key's value
/// must be a `tmod:` URI of the kind the key names (a category, a policy type),
/// or it is an error naming it.
pub fn holds_rel04(name: &str, value: &str) -> Result<bool, String> {
    let Some((uris, exact)) = known(name) else {
        return Err(format!("{name} is not a catalogue key"));
    };
    if !exact {
        // The name after the last `/`: every URI here starts `tmod:@turbot/`.
        let fragment = value.to_ascii_lowercase();
        // A fragment holding a URI's punctuation is matched against the whole URI.
        let whole = fragment.contains(['/', '#', ':']);
        return Ok(uris.iter().any(|u| {
            let name = if whole {
                u
            } else {
                u.rsplit('/').next().unwrap_or(u)
            };
            name.to_ascii_lowercase().contains(&fragment)
        }));
    }
    let kind = match name {
        "controlCategoryId" => "#/control/categories/",
        "policyTypeId" => "#/policy/types/",
        _ => "#/resource/categories/",
    };
    if !(value.starts_with("tmod:@") && value.contains(kind)) {
        return Err(format!(
            "{value:?} is not a {name} (tmod:@org/mod{kind}name)"
        ));
    }
    Ok(uris.contains(&value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_terms_hold_rel04_or_nothing() {
        assert_eq!(
            holds_rel04("controlCategoryId", CONTROL_CATEGORIES[1].0),
            Ok(true)
        );
        assert_eq!(
            holds_rel04(
                "controlCategoryId",
                "tmod:@turbot/turbot#/control/categories/turbot"
            ),
            Ok(false)
        );
        assert_eq!(holds_rel04("controlCategory", "RELIABILITY"), Ok(true));
        assert_eq!(holds_rel04("controlCategory", "turbot"), Ok(false));
        assert_eq!(holds_rel04("policyType", "idempotent"), Ok(true));
        assert_eq!(holds_rel04("resourceCategory", "management"), Ok(true));
        assert_eq!(holds_rel04("policyTypeId", POLICY_TYPES[3]), Ok(true));
        let error = holds_rel04(
            "policyTypeId",
            "tmod:@turbot/turbot#/resource/categories/turbot",
        )
        .unwrap_err();
        assert!(error.contains("is not a policyTypeId"), "{error}");
    }
}
