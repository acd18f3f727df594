use super::*;

fn ids(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn targets(list: &[&str]) -> Vec<OrgTarget> {
    list.iter().map(|s| OrgTarget::parse(s).unwrap()).collect()
}

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";
const D: &str = "444444444444";
const OU_PROD: &str = "ou-abcd-11111111";
const OU_SANDBOX: &str = "ou-abcd-22222222";

/// A and B in prod (B below a nested OU, so listed under prod too), C in the
/// sandbox, D at the root and suspended.
fn membership() -> Membership {
    Membership {
        accounts: [(A, true), (B, true), (C, true), (D, false)]
            .into_iter()
            .map(|(id, active)| (id.to_owned(), active))
            .collect(),
        below: [(OU_PROD, ids(&[A, B])), (OU_SANDBOX, ids(&[C]))]
            .into_iter()
            .map(|(ou, ids)| (ou.to_owned(), ids))
            .collect(),
    }
}

#[test]
fn no_include_selects_every_active_account() {
    assert_eq!(
        select(&membership(), &[], &[], 10).unwrap(),
        ids(&[A, B, C])
    );
}

#[test]
fn include_by_ou_or_account_and_exclude_wins() {
    let m = membership();
    assert_eq!(
        select(&m, &targets(&[OU_PROD]), &[], 10).unwrap(),
        ids(&[A, B])
    );
    assert_eq!(
        select(&m, &targets(&[OU_PROD, C]), &targets(&[B]), 10).unwrap(),
        ids(&[A, C])
    );
    assert_eq!(
        select(&m, &[], &targets(&[OU_PROD]), 10).unwrap(),
        ids(&[C])
    );
    // Included and excluded at once: excluded.
    assert_eq!(
        select(&m, &targets(&[OU_SANDBOX]), &targets(&[OU_SANDBOX]), 10).unwrap(),
        ids(&[])
    );
}

#[test]
fn only_active_accounts_of_the_organization_are_selected() {
    let m = membership();
    // D is suspended; an included id the organisation did not list has left it.
    assert_eq!(
        select(&m, &targets(&[D, "999999999999", A]), &[], 10).unwrap(),
        ids(&[A])
    );
    // An OU nothing was listed under selects nothing.
    assert_eq!(
        select(&m, &targets(&["ou-abcd-99999999"]), &[], 10).unwrap(),
        ids(&[])
    );
}

#[test]
fn more_accounts_than_the_cap_is_an_error_naming_both() {
    let err = select(&membership(), &[], &[], 2).unwrap_err();
    assert_eq!(
        err,
        TooManyAccounts {
            selected: 3,
            max: 2
        }
    );
    assert!(err.to_string().contains("max_accounts (2)"), "{err}");
    assert!(select(&membership(), &[], &[], 3).is_ok());
}

#[test]
fn change_names_joined_and_left() {
    let change = Change::between(&ids(&[A, B]), &ids(&[B, C]));
    assert_eq!(change.joined, vec![C.to_owned()]);
    assert_eq!(change.left, vec![A.to_owned()]);
    assert!(!change.is_empty());
    assert!(Change::between(&ids(&[A]), &ids(&[A])).is_empty());
}

#[test]
fn targets_parse_strictly() {
    assert_eq!(OrgTarget::parse(A), Some(OrgTarget::Account(A.to_owned())));
    assert_eq!(
        OrgTarget::parse(OU_PROD),
        Some(OrgTarget::Parent(OU_PROD.to_owned()))
    );
    assert_eq!(
        OrgTarget::parse("r-ab12"),
        Some(OrgTarget::Parent("r-ab12".to_owned()))
    );
    for bad in [
        "ou-ab-1",
        "ou-ABCD-11111111",
        "r-",
        "12345",
        "ou-abcd-11111111-x",
        "",
    ] {
        assert_eq!(OrgTarget::parse(bad), None, "{bad}");
    }
}
