//! The conversion and the paging bound in isolation, then every call through the
//! real SDK against the simulator: a workload reviewed against REL 04's lens and a
//! custom lens (named by its ARN, which the SDK percent-encodes in the path).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_wellarchitected::config::retry::RetryConfig;
use aws_sdk_wellarchitected::config::{BehaviorVersion, Credentials, Region};
use rel04d_simulator::{
    AnswerSpec, ChoiceDef, LensDef, PillarDef, QuestionDef, SimServer, Simulator, WorkloadSpec,
};
use tokio::sync::Semaphore;

use super::*;
use crate::control::policy::{LENS_ALIAS, QUESTION_ID};
use crate::metrics::Metrics;
use crate::wellarchitected::RateLimiter;

#[test]
fn answers_convert_to_core_statuses() {
    let answer = wa::Answer::builder()
        .choices(
            wa::Choice::builder()
                .choice_id("a")
                .title("Title a")
                .build(),
        )
        .choices(wa::Choice::builder().choice_id("b").build())
        .choices(
            wa::Choice::builder()
                .choice_id("c")
                .title("Title c")
                .build(),
        )
        .selected_choices("a")
        .choice_answers(
            wa::ChoiceAnswer::builder()
                .choice_id("b")
                .status(wa::ChoiceStatus::NotApplicable)
                .build(),
        )
        .risk(wa::Risk::Medium)
        .build();
    let observed = observed(&ToolAnswer::from(&answer), Some("arn:lens"));
    assert!(observed.is_applicable);
    assert_eq!(observed.risk.as_deref(), Some("MEDIUM"));
    assert_eq!(observed.status("a"), Some(ChoiceStatus::Selected));
    assert_eq!(observed.status("b"), Some(ChoiceStatus::NotApplicable));
    assert_eq!(observed.status("c"), Some(ChoiceStatus::Unselected));
    assert_eq!(observed.lens_arn.as_deref(), Some("arn:lens"));
    // The Tool's titles, or the id where it gave none.
    assert_eq!(
        (
            observed.title("a"),
            observed.title("b"),
            observed.title("c")
        ),
        ("Title a", "b", "Title c")
    );
}

#[test]
fn a_list_answers_summary_converts_as_the_same_answer_from_get_answer() {
    let choices = || {
        [("x", "X"), ("y", "Y"), ("x_no", "None of these")]
            .map(|(id, title)| wa::Choice::builder().choice_id(id).title(title).build())
    };
    let mut answer = wa::Answer::builder()
        .selected_choices("x")
        .is_applicable(false)
        .risk(wa::Risk::NotApplicable)
        .choice_answers(
            wa::ChoiceAnswer::builder()
                .choice_id("y")
                .status(wa::ChoiceStatus::NotApplicable)
                .build(),
        );
    let mut summary = wa::AnswerSummary::builder()
        .question_id("q")
        .selected_choices("x")
        .is_applicable(false)
        .risk(wa::Risk::NotApplicable)
        .choice_answer_summaries(
            wa::ChoiceAnswerSummary::builder()
                .choice_id("y")
                .status(wa::ChoiceStatus::NotApplicable)
                .build(),
        );
    for choice in choices() {
        answer = answer.choices(choice.clone());
        summary = summary.choices(choice);
    }
    let (answer, summary) = (answer.build(), summary.build());
    let from_answer = observed(&ToolAnswer::from(&answer), Some("arn"));
    assert_eq!(
        observed(&ToolAnswer::from(&summary), Some("arn")),
        from_answer
    );
    assert!(!from_answer.is_applicable);
    assert_eq!(from_answer.status("y"), Some(ChoiceStatus::NotApplicable));
}

#[tokio::test]
async fn a_listing_that_pages_forever_stops_at_its_bound_naming_what_it_listed() {
    let calls = Cell::new(0);
    let listed = paged(
        Operation::ListAnswers,
        6,
        || "workload w, lens l".to_owned(),
        |_| {
            calls.set(calls.get() + 1);
            async { Ok((vec![1], Some("again".to_owned()))) }
        },
    )
    .await;
    let error = listed.expect_err("an endless listing is refused");
    assert_eq!(calls.get(), 6, "no page past the bound");
    assert_eq!(error.operation, "ListAnswers");
    assert!(
        error.message.contains("workload w, lens l") && error.message.contains("6 pages"),
        "{error}"
    );
}

#[tokio::test]
async fn a_listing_ends_at_the_first_page_without_a_token_or_with_an_empty_one() {
    for last in [None, Some(String::new())] {
        let calls = Cell::new(0);
        let listed = paged(Operation::ListLensReviews, 6, String::new, |token| {
            calls.set(calls.get() + 1);
            let next = match token {
                None => Some("2".to_owned()),
                Some(_) => last.clone(),
            };
            let page = vec![calls.get()];
            async move { Ok((page, next)) }
        })
        .await;
        assert_eq!(listed.unwrap(), vec![1, 2]);
    }
}

#[test]
fn the_bounds_allow_a_full_lens_and_a_full_workload_with_slack() {
    assert_eq!(max_pages(MAX_QUESTIONS_PER_LENS), 6);
    assert_eq!(max_pages(MAX_LENSES_PER_WORKLOAD), 3);
}

const REGION: &str = "us-east-1";
const CUSTOM: &str = "arn:aws:wellarchitected:us-east-1:111122223333:lens/data-handling";

fn question(id: &str, prefix: &str, title: &str) -> QuestionDef {
    let choice = |id: String, title: &str, none_of_these| ChoiceDef {
        id,
        title: title.to_owned(),
        description: String::new(),
        none_of_these,
    };
    QuestionDef {
        id: id.to_owned(),
        title: title.to_owned(),
        description: String::new(),
        choices: vec![
            choice(format!("{prefix}_one"), "The first practice", false),
            choice(format!("{prefix}_two"), "The second practice", false),
            choice(format!("{prefix}_no"), "None of these", true),
        ],
    }
}

/// A custom lens with `pillars`, each `(pillar id, questions as (id, choice prefix))`.
fn custom_lens(pillars: Vec<(String, Vec<(String, String)>)>) -> LensDef {
    LensDef {
        alias: CUSTOM.to_owned(),
        name: "Data handling".to_owned(),
        description: String::new(),
        version: "2".to_owned(),
        previous_version: Some("1".to_owned()),
        pillars: pillars
            .into_iter()
            .map(|(id, questions)| PillarDef {
                name: id.clone(),
                id,
                questions: questions
                    .iter()
                    .map(|(q, prefix)| question(q, prefix, &format!("Question {q}?")))
                    .collect(),
            })
            .collect(),
    }
}

/// The custom lens of two questions, each in a pillar of its own.
fn two_questions() -> LensDef {
    let pillar = |pillar: &str, q: &str, prefix: &str| {
        (pillar.to_owned(), vec![(q.to_owned(), prefix.to_owned())])
    };
    custom_lens(vec![
        pillar("data", "data-retention", "retention"),
        pillar("deploy", "deploy-safety", "deploy"),
    ])
}

struct Setup {
    sim: Simulator,
    _server: SimServer,
    wa: WellArchitected,
    workload: String,
}

/// A workload reviewed against `wellarchitected` and `lens`, and the adapter as the
/// daemon builds it (SDK retries off), pointed at the simulator.
async fn setup(lens: LensDef) -> Setup {
    let sim = Simulator::new(REGION);
    sim.add_lens(lens).expect("a valid custom lens");
    let workload = sim
        .add_workload(WorkloadSpec {
            lenses: vec![LENS_ALIAS.to_owned(), CUSTOM.to_owned()],
            ..Default::default()
        })
        .id;
    let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let config = aws_sdk_wellarchitected::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(server.url())
        .retry_config(RetryConfig::disabled())
        .http_client(crate::aws::http_client())
        .build();
    let wa = WellArchitected::new(
        aws_sdk_wellarchitected::Client::from_conf(config),
        RateLimiter::new(1_000.0),
        Arc::new(Semaphore::new(8)),
        3,
        Arc::new(Metrics::new()),
    );
    Setup {
        sim,
        _server: server,
        wa,
        workload,
    }
}

impl Setup {
    /// Calls naming the workload, per operation, since the last look.
    fn calls(&self) -> BTreeMap<String, u64> {
        let calls = self.sim.workload_calls(&self.workload);
        self.sim.reset_calls();
        calls
    }
}

fn ids(questions: &[QuestionAnswer]) -> Vec<&str> {
    questions.iter().map(|q| q.question_id.as_str()).collect()
}

fn one(operation: &str) -> BTreeMap<String, u64> {
    BTreeMap::from([(operation.to_owned(), 1)])
}

#[tokio::test]
async fn list_answers_reads_each_lens_in_one_call_with_pillars_titles_and_statuses() {
    let s = setup(two_questions()).await;
    s.sim
        .set_question_answer(
            &s.workload,
            CUSTOM,
            "data-retention",
            AnswerSpec {
                selected: vec!["retention_one".to_owned()],
                not_applicable: vec!["retention_two".to_owned()],
                is_applicable: true,
            },
        )
        .unwrap();
    s.calls();

    let framework =
        s.wa.list_answers(&s.workload, LENS_ALIAS, None)
            .await
            .unwrap();
    assert_eq!(s.calls(), one("ListAnswers"));
    assert_eq!(
        ids(&framework),
        [
            QUESTION_ID,
            "mitigate-interaction-failure",
            "fault-isolation"
        ]
    );
    assert!(
        framework
            .iter()
            .all(|q| q.pillar_id.as_deref() == Some("reliability"))
    );
    let rel04 = &framework[0];
    assert!(
        rel04
            .title
            .as_deref()
            .unwrap()
            .contains("distributed system")
    );
    assert_eq!(
        rel04.answer.title("rel_prevent_interaction_failure_no"),
        "None of these",
        "titles come from the Tool"
    );

    let custom = s.wa.list_answers(&s.workload, CUSTOM, None).await.unwrap();
    assert_eq!(s.calls(), one("ListAnswers"));
    assert_eq!(ids(&custom), ["data-retention", "deploy-safety"]);
    let retention = &custom[0];
    assert_eq!(retention.pillar_id.as_deref(), Some("data"));
    assert_eq!(retention.title.as_deref(), Some("Question data-retention?"));
    assert_eq!(retention.answer.lens_arn.as_deref(), Some(CUSTOM));
    assert_eq!(
        retention.answer.choices,
        BTreeMap::from([
            ("retention_one".to_owned(), ChoiceStatus::Selected),
            ("retention_two".to_owned(), ChoiceStatus::NotApplicable),
            ("retention_no".to_owned(), ChoiceStatus::Unselected),
        ])
    );
    assert_eq!(
        retention.answer.title("retention_one"),
        "The first practice"
    );

    // The same answer, read alone, is the same ObservedAnswer.
    let alone =
        s.wa.get_answer(&s.workload, CUSTOM, "data-retention")
            .await
            .unwrap();
    assert_eq!(alone, retention.answer);
}

#[tokio::test]
async fn list_answers_sends_the_pillar_and_reads_only_its_questions() {
    let s = setup(two_questions()).await;
    let deploy =
        s.wa.list_answers(&s.workload, CUSTOM, Some("deploy"))
            .await
            .unwrap();
    assert_eq!(ids(&deploy), ["deploy-safety"]);
    assert_eq!(s.calls(), one("ListAnswers"));
    let unknown =
        s.wa.list_answers(&s.workload, CUSTOM, Some("no-such-pillar"))
            .await
            .expect_err("the simulator refuses a pillar the lens lacks");
    assert_eq!(unknown.kind, ErrorKind::Validation);
}

#[tokio::test]
async fn a_lens_of_more_than_a_page_is_read_in_one_call_per_page() {
    // 3 pillars of 20 questions: 60 questions, two pages of at most 50.
    let pillars = (0..3)
        .map(|p| {
            let questions = (0..20)
                .map(|q| (format!("q-{p}-{q}"), format!("c{p}x{q}")))
                .collect();
            (format!("pillar{p}"), questions)
        })
        .collect();
    let s = setup(custom_lens(pillars)).await;
    let questions = s.wa.list_answers(&s.workload, CUSTOM, None).await.unwrap();
    assert_eq!(questions.len(), 60);
    assert_eq!(questions[0].question_id, "q-0-0");
    assert_eq!(questions[59].question_id, "q-2-19");
    assert_eq!(
        s.calls(),
        BTreeMap::from([("ListAnswers".to_owned(), 2)]),
        "one call per page"
    );
}

#[tokio::test]
async fn lens_reviews_report_each_lens_with_the_tools_status() {
    let s = setup(two_questions()).await;
    s.sim
        .set_lens_status(&s.workload, CUSTOM, "NOT_CURRENT")
        .unwrap();
    s.calls();
    let reviews = s.wa.lens_reviews(&s.workload).await.unwrap();
    assert_eq!(s.calls(), one("ListLensReviews"));
    let status = |lens: &str| {
        let review = reviews.iter().find(|r| r.is_of(lens)).expect(lens);
        review.lens_status.as_deref()
    };
    assert_eq!(reviews.len(), 2);
    assert_eq!(status(LENS_ALIAS), Some("CURRENT"));
    assert_eq!(status(CUSTOM), Some("NOT_CURRENT"));
}

#[tokio::test]
async fn an_update_of_a_custom_lens_question_changes_that_question_only() {
    let s = setup(two_questions()).await;
    let before_framework =
        s.wa.list_answers(&s.workload, LENS_ALIAS, None)
            .await
            .unwrap();
    let before_custom = s.wa.list_answers(&s.workload, CUSTOM, None).await.unwrap();
    s.calls();

    let update = AnswerUpdate {
        is_applicable: None,
        selected_choices: vec!["deploy_two".to_owned()],
        choice_updates: BTreeMap::from([("deploy_one".to_owned(), ChoiceStatus::NotApplicable)]),
        changes: Vec::new(),
    };
    s.wa.update_answer(&s.workload, CUSTOM, "deploy-safety", &update)
        .await
        .unwrap();
    let deploy =
        s.wa.get_answer(&s.workload, CUSTOM, "deploy-safety")
            .await
            .unwrap();
    assert_eq!(
        s.calls(),
        BTreeMap::from([("GetAnswer".to_owned(), 1), ("UpdateAnswer".to_owned(), 1)])
    );
    assert_eq!(deploy.status("deploy_two"), Some(ChoiceStatus::Selected));
    assert_eq!(
        deploy.status("deploy_one"),
        Some(ChoiceStatus::NotApplicable)
    );
    assert_eq!(deploy.lens_arn.as_deref(), Some(CUSTOM));

    let after_custom = s.wa.list_answers(&s.workload, CUSTOM, None).await.unwrap();
    assert_eq!(
        after_custom[0], before_custom[0],
        "data-retention untouched"
    );
    assert_eq!(after_custom[1].answer, deploy);
    assert_ne!(after_custom[1], before_custom[1]);
    assert_eq!(
        s.wa.list_answers(&s.workload, LENS_ALIAS, None)
            .await
            .unwrap(),
        before_framework,
        "the Framework lens untouched"
    );
}

#[tokio::test]
async fn rel04_is_read_and_written_by_its_alias_and_question_id_as_before() {
    let s = setup(two_questions()).await;
    let update = AnswerUpdate {
        is_applicable: None,
        selected_choices: vec!["rel_prevent_interaction_failure_no".to_owned()],
        choice_updates: BTreeMap::new(),
        changes: Vec::new(),
    };
    s.wa.update_answer(&s.workload, LENS_ALIAS, QUESTION_ID, &update)
        .await
        .unwrap();
    let rel04 =
        s.wa.get_answer(&s.workload, LENS_ALIAS, QUESTION_ID)
            .await
            .unwrap();
    assert!(rel04.is_selected("rel_prevent_interaction_failure_no"));
    assert_eq!(rel04.risk.as_deref(), Some("HIGH"));
    let custom = s.wa.list_answers(&s.workload, CUSTOM, None).await.unwrap();
    assert!(
        custom.iter().all(|q| q
            .answer
            .choices
            .values()
            .all(|c| *c == ChoiceStatus::Unselected)),
        "the custom lens untouched"
    );
}
