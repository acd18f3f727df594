use super::*;

#[test]
fn values_are_bound_never_spliced() {
    let filter =
        Filter::parse(r#"workload:"x' OR '1'='1" !state:ok,alarm account:1 limit:5"#).unwrap();
    let (sql, binds, regexes) = build(Table::Controls, &filter, 0).unwrap();
    assert!(!sql.contains("'1'"), "{sql}");
    let injected = "x' OR '1'='1".to_owned();
    assert_eq!(
        binds,
        [
            injected.clone(),
            injected,
            "ok".into(),
            "alarm".into(),
            "1".into()
        ]
    );
    assert!(regexes.is_empty());
    assert!(
        sql.contains("(workload_id IN ($1) OR workload_name IN ($2))"),
        "{sql}"
    );
    assert!(sql.contains("NOT state IN ($3, $4)"), "{sql}");
    assert!(sql.ends_with("LIMIT 5"), "{sql}");
}

#[test]
fn unknown_sort_fields_are_refused_with_the_choices() {
    let filter = Filter::parse("sort:password").unwrap();
    let err = build(Table::Controls, &filter, 0).unwrap_err();
    assert!(
        err.0
            .contains("cannot sort controls by `password`; sortable fields: workload_id"),
        "{err}"
    );
}

#[test]
fn removed_controls_are_hidden_unless_asked_for() {
    let (sql, _, _) = build(Table::Controls, &Filter::parse("").unwrap(), 0).unwrap();
    assert!(sql.contains("removed_at IS NULL"));
    let (sql, _, _) = build(Table::Controls, &Filter::parse("state:removed").unwrap(), 0).unwrap();
    assert!(!sql.contains("removed_at IS NULL"));
    let (sql, _, _) = build(Table::Transitions, &Filter::parse("").unwrap(), 0).unwrap();
    assert!(!sql.contains("removed_at"));
}

#[test]
fn a_descending_sort_reverses_the_whole_order_without_repeating_the_field() {
    let order = |filter: &str, table| {
        let (sql, _, _) = build(table, &Filter::parse(filter).unwrap(), 0).unwrap();
        sql.split(" ORDER BY ").nth(1).unwrap().to_owned()
    };
    assert_eq!(
        order("sort:-updated_at", Table::Controls),
        "updated_at DESC, account_id DESC, region DESC, workload_name DESC, workload_arn DESC, \
         lens DESC, question_id DESC"
    );
    assert_eq!(
        order("sort:region", Table::Controls),
        "region ASC, account_id ASC, workload_name ASC, workload_arn ASC, lens ASC, question_id ASC"
    );
    assert_eq!(
        order("sort:trigger", Table::Transitions),
        "\"trigger\" ASC, id ASC"
    );
    assert_eq!(order("", Table::Transitions), "id DESC");
}

/// `lens:`, `question:` and `lensStatus:` are exact, bound values on the
/// control's columns; on transitions a lens status is the control's.
#[test]
fn lens_question_and_lens_status_terms_are_bound_column_conditions() {
    let filter =
        Filter::parse("lens:arn:aws:wellarchitected::1:lens/x question:q1,q2 lensStatus:DELETED")
            .unwrap();
    let (sql, binds, _) = build(Table::Controls, &filter, 0).unwrap();
    assert!(
        sql.contains("WHERE lens IN ($1) AND question_id IN ($2, $3) AND lens_status IN ($4)"),
        "{sql}"
    );
    assert_eq!(
        binds,
        ["arn:aws:wellarchitected::1:lens/x", "q1", "q2", "DELETED"]
    );
    let (sql, _, _) = build(Table::Transitions, &filter, 0).unwrap();
    assert!(
        sql.contains("(workload_arn, lens, question_id) IN (SELECT workload_arn, lens, question_id FROM controls WHERE lens_status IN ($4))"),
        "{sql}"
    );
}
