//! Guardrails' resource hierarchy, as `resource:` / `resourceId:` and
//! `resourceTypeId:` see it: Turbot (the root) > AWS account > region >
//! workload. A resource term names one resource by an id or AKA of any level
//! and means "it and everything below it".

use super::GUARDRAILS_ROOT;
use crate::workload::{is_account_id, is_region};

/// What a `resource:` value names, and so which controls it scopes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The root: every control.
    Everything,
    /// An account's controls: `123456789012` or `arn:aws:::123456789012`.
    Account(String),
    /// A region's controls in an account: `arn:aws::us-east-1:123456789012`.
    Region { account: String, region: String },
    /// One workload, by ARN or id.
    Workload(String),
    /// Guardrails' own identity, `turbot://identity/turbot`: here rel04d, the
    /// actor of every notification. No control is on it.
    Actor,
}

/// Guardrails' id of its own identity, the actor of its automation.
pub const AUTOMATION_IDENTITY: &str = "turbot://identity/turbot";

const FORMS: &str = "resources are the root tmod:@turbot/turbot#/, an account \
     (123456789012 or arn:aws:::123456789012), a region (arn:aws::us-east-1:123456789012), \
     or a workload (its ARN or id)";

/// The resource `value` names; an id of a form rel04d's hierarchy does not
/// have is an error naming it, not a term that silently matches nothing.
pub fn scope(value: &str) -> Result<Scope, String> {
    if value == GUARDRAILS_ROOT {
        return Ok(Scope::Everything);
    }
    if value == AUTOMATION_IDENTITY {
        return Ok(Scope::Actor);
    }
    if is_account_id(value) {
        return Ok(Scope::Account(value.to_owned()));
    }
    if let Some(rest) = value.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        return match parts.as_slice() {
            [_, "", "", account] if is_account_id(account) => Ok(Scope::Account((*account).into())),
            [_, "", region, account] if is_account_id(account) && is_region(region) => {
                Ok(Scope::Region {
                    account: (*account).into(),
                    region: (*region).into(),
                })
            }
            [_, "wellarchitected", _, _, resource] if resource.starts_with("workload/") => {
                Ok(Scope::Workload(value.to_owned()))
            }
            _ => Err(format!(
                "resource {value:?} is not an ARN rel04d has; {FORMS}"
            )),
        };
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "resource {value:?} is a Guardrails resource id, not one of rel04d's; {FORMS}"
        ));
    }
    // Workload ids are letters and digits; `tmod:` URIs, `turbot://` ids and
    // e-mail addresses (Guardrails' identities) are not rel04d's resources.
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(format!(
            "resource {value:?} is not in rel04d's hierarchy; {FORMS}"
        ));
    }
    Ok(Scope::Workload(value.to_owned()))
}

/// Guardrails' types of the levels above a workload.
pub const ACCOUNT_TYPE: &str = "tmod:@turbot/aws#/resource/types/account";
pub const REGION_TYPE: &str = "tmod:@turbot/aws#/resource/types/region";

/// The resource types a `resourceTypeId:` value may name: the workload's type
/// and its ancestors in Guardrails' type tree, each of which holds every
/// workload. Any other well-formed type URI holds none of rel04d's controls.
pub const WORKLOAD_TYPES: [&str; 4] = [
    super::GUARDRAILS_RESOURCE_TYPE,
    "tmod:@turbot/aws-wellarchitected#/resource/types/wellArchitected",
    "tmod:@turbot/aws#/resource/types/aws",
    "tmod:@turbot/turbot#/resource/types/turbot",
];

/// A `resourceType:` value (a fragment of a type's name, as Guardrails'
/// partial keys take): the workload type when it names the workload or an
/// ancestor, the account or region type when it names those, else the value
/// itself (a type holding no workload).
pub fn partial_type(value: &str) -> String {
    let fragment = value.to_ascii_lowercase();
    let named = |uri: &str| {
        let name = uri.rsplit('/').next().unwrap_or(uri).to_ascii_lowercase();
        name.contains(&fragment)
    };
    if WORKLOAD_TYPES.iter().any(|uri| named(uri)) {
        super::CONTROL_TYPE.to_owned()
    } else if named(ACCOUNT_TYPE) {
        ACCOUNT_TYPE.to_owned()
    } else if named(REGION_TYPE) {
        REGION_TYPE.to_owned()
    } else {
        value.to_owned()
    }
}

/// Whether a `resourceTypeId:` value holds every workload (`Some(true)`), none
/// (`Some(false)`: a well-formed type of something else), or is not a resource
/// type at all (`None`).
pub fn type_holds_workloads(value: &str) -> Option<bool> {
    if value == "workload" || WORKLOAD_TYPES.contains(&value) {
        return Some(true);
    }
    let (module, path) = value
        .strip_prefix("tmod:@")?
        .split_once("#/resource/types/")?;
    let well_formed =
        module.contains('/') && !path.is_empty() && path.bytes().all(|b| b.is_ascii_alphanumeric());
    well_formed.then_some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_of_the_hierarchy_has_its_forms() {
        assert_eq!(scope(GUARDRAILS_ROOT), Ok(Scope::Everything));
        let account = Scope::Account("111122223333".into());
        assert_eq!(scope("111122223333"), Ok(account.clone()));
        assert_eq!(scope("arn:aws:::111122223333"), Ok(account));
        assert_eq!(
            scope("arn:aws::eu-west-2:111122223333"),
            Ok(Scope::Region {
                account: "111122223333".into(),
                region: "eu-west-2".into()
            })
        );
        let arn = "arn:aws:wellarchitected:eu-west-2:111122223333:workload/0a1b2c";
        assert_eq!(scope(arn), Ok(Scope::Workload(arn.into())));
        assert_eq!(scope("0a1b2c"), Ok(Scope::Workload("0a1b2c".into())));
    }

    #[test]
    fn forms_outside_the_hierarchy_are_errors_naming_them() {
        for value in [
            "182532796222472",
            "11112222333",
            "arn:aws:s3:::my-bucket",
            "arn:aws::not a region:111122223333",
            "arn:aws:::1111",
            "tmod:@turbot/aws#/resource/types/aws",
            "turbot://identity/someone",
            "someone@example.com",
        ] {
            let error = scope(value).unwrap_err();
            assert!(error.contains(&format!("{value:?}")), "{value}: {error}");
        }
    }

    #[test]
    fn the_workload_type_and_its_ancestors_hold_workloads() {
        for uri in WORKLOAD_TYPES {
            assert_eq!(type_holds_workloads(uri), Some(true), "{uri}");
        }
        assert_eq!(
            type_holds_workloads("tmod:@turbot/aws-s3#/resource/types/bucket"),
            Some(false)
        );
        for bad in [
            "bucket",
            "tmod:@turbot/aws-s3#/control/types/x",
            "tmod:@x#/resource/types/",
        ] {
            assert_eq!(type_holds_workloads(bad), None, "{bad}");
        }
    }
}
