//! The real `aws-sdk-wellarchitected` client against the simulator over HTTP:
//! paging, answers, tags, error mapping, faults, and the `/_sim/` admin API.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_sdk_wellarchitected::Client;
use aws_sdk_wellarchitected::config::{Credentials, Region};
use aws_sdk_wellarchitected::error::ProvideErrorMetadata;
use aws_sdk_wellarchitected::operation::get_answer::builders::GetAnswerFluentBuilder;
use aws_sdk_wellarchitected::operation::update_answer::builders::UpdateAnswerFluentBuilder;
use aws_sdk_wellarchitected::types::{ChoiceReason, ChoiceStatus, ChoiceUpdate};
use rel04d_simulator::{
    AnswerSpec, CHOICE_CONSTANT_WORK, CHOICE_IDEMPOTENT, CHOICE_IDENTIFY, CHOICE_LOOSELY_COUPLED,
    CHOICE_NONE, Faults, LENS_ALIAS, QUESTION_ID, SimServer, Simulator, WorkloadSpec,
};
use serde_json::{Value, json};

/// A well-formed workload id that no test creates.
const MISSING: &str = "0123456789abcdef0123456789abcdef";

/// The service error of a call that must fail.
macro_rules! service_err {
    ($call:expr) => {
        $call.send().await.unwrap_err().into_service_error()
    };
}

struct Harness {
    sim: Simulator,
    server: SimServer,
    client: Client,
    http: reqwest::Client,
}

impl Harness {
    /// Serves `sim` and builds a real SDK client for it, with SDK retries off so
    /// every injected fault reaches the test.
    async fn start(sim: Simulator) -> Self {
        let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let config = aws_config::defaults(BehaviorVersion::latest())
            // The SDK crates carry no bundled client; the simulator speaks plain HTTP.
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .endpoint_url(server.url())
            .retry_config(RetryConfig::disabled())
            .load()
            .await;
        let client = Client::new(&config);
        let http = reqwest::Client::new();
        Self {
            sim,
            server,
            client,
            http,
        }
    }

    fn answer(&self, id: &str) -> GetAnswerFluentBuilder {
        let get = self.client.get_answer().workload_id(id);
        get.lens_alias(LENS_ALIAS).question_id(QUESTION_ID)
    }

    fn update(&self, id: &str) -> UpdateAnswerFluentBuilder {
        let update = self.client.update_answer().workload_id(id);
        update.lens_alias(LENS_ALIAS).question_id(QUESTION_ID)
    }

    /// One `/_sim/` admin call: (status, JSON body or Null).
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/_sim/{path}", self.server.url());
        let mut req = self.http.request(method.parse().unwrap(), url);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

fn spec(name: &str, selected: &[&str]) -> WorkloadSpec {
    let selected = selected.iter().map(|s| s.to_string()).collect();
    let answer = AnswerSpec {
        selected,
        ..AnswerSpec::default()
    };
    WorkloadSpec {
        name: name.to_string(),
        answer,
        ..WorkloadSpec::default()
    }
}

#[tokio::test]
async fn list_workloads_pages_through_every_workload_exactly_once() {
    let h = Harness::start(Simulator::generated("us-east-1", 120, 7)).await;
    let (mut seen, mut pages, mut token) = (Vec::new(), Vec::new(), None);
    loop {
        let list = h
            .client
            .list_workloads()
            .max_results(50)
            .set_next_token(token);
        let out = list.send().await.unwrap();
        pages.push(out.workload_summaries().len());
        for s in out.workload_summaries() {
            assert!(s.updated_at().is_some() && s.owner().is_some() && s.workload_arn().is_some());
            seen.push(s.workload_id().unwrap().to_string());
        }
        token = out.next_token().map(String::from);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, [50, 50, 20]);
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), 120, "a workload was listed twice");
    let expected: BTreeSet<_> = h.sim.workloads().into_iter().map(|w| w.id).collect();
    assert_eq!(unique, expected);

    // Without MaxResults the page is 50; the prefix filters by name.
    let out = h.client.list_workloads().send().await.unwrap();
    assert_eq!(out.workload_summaries().len(), 50);
    let list = h
        .client
        .list_workloads()
        .workload_name_prefix("workload-000");
    let out = list.send().await.unwrap();
    assert_eq!(out.workload_summaries().len(), 9, "{out:?}");
    assert!(out.next_token().is_none());
}

#[tokio::test]
async fn get_answer_and_update_answer_round_trip() {
    let h = Harness::start(Simulator::new("us-east-1")).await;
    let w = h
        .sim
        .add_workload(spec("answer-test", &[CHOICE_IDENTIFY, CHOICE_IDEMPOTENT]));

    let out = h.answer(&w.id).send().await.unwrap();
    assert_eq!(out.workload_id(), Some(w.id.as_str()));
    assert_eq!(out.lens_alias(), Some(LENS_ALIAS));
    let a = out.answer().unwrap();
    assert_eq!(
        (a.question_id(), a.pillar_id()),
        (Some(QUESTION_ID), Some("reliability"))
    );
    let ids: Vec<_> = a.choices().iter().map(|c| c.choice_id().unwrap()).collect();
    // The current Framework's order and wording (REL04-BP01..BP04, then none).
    assert_eq!(
        ids,
        [
            CHOICE_IDENTIFY,
            CHOICE_LOOSELY_COUPLED,
            CHOICE_CONSTANT_WORK,
            CHOICE_IDEMPOTENT,
            CHOICE_NONE
        ]
    );
    assert_eq!(
        a.choices()[0].title(),
        Some("Identify the kind of distributed systems you depend on")
    );
    assert_eq!(
        a.choices()[3].title(),
        Some("Make mutating operations idempotent")
    );
    assert_eq!(a.selected_choices(), [CHOICE_IDENTIFY, CHOICE_IDEMPOTENT]);
    assert_eq!(a.choice_answers().len(), 2);
    assert!(
        a.choice_answers()
            .iter()
            .all(|c| c.status() == Some(&ChoiceStatus::Selected))
    );
    assert_eq!(a.is_applicable(), Some(true));
    assert_eq!(a.risk().map(|r| r.as_str()), Some("MEDIUM"));

    // SelectedChoices replaces the set; ChoiceUpdates marks one NOT_APPLICABLE.
    let na = ChoiceUpdate::builder().status(ChoiceStatus::NotApplicable);
    let na = na.reason(ChoiceReason::OutOfScope).build();
    let update = h.update(&w.id).selected_choices(CHOICE_IDENTIFY);
    let update = update
        .selected_choices(CHOICE_LOOSELY_COUPLED)
        .selected_choices(CHOICE_IDEMPOTENT);
    let out = update
        .choice_updates(CHOICE_CONSTANT_WORK, na)
        .notes("reviewed")
        .send()
        .await
        .unwrap();
    let a = out.answer().unwrap();
    assert_eq!(a.selected_choices().len(), 3);
    assert_eq!(a.risk().map(|r| r.as_str()), Some("NONE"));
    assert_eq!(a.notes(), Some("reviewed"));
    let cw = a
        .choice_answers()
        .iter()
        .find(|c| c.choice_id() == Some(CHOICE_CONSTANT_WORK));
    assert_eq!(cw.unwrap().status(), Some(&ChoiceStatus::NotApplicable));
    assert_eq!(cw.unwrap().reason(), Some(&ChoiceReason::OutOfScope));
    assert_eq!(
        h.sim.workload(&w.id).unwrap().answer.not_applicable,
        [CHOICE_CONSTANT_WORK]
    );

    // A later GetAnswer sees it; IsApplicable false wins the risk.
    let a = h.answer(&w.id).send().await.unwrap().answer.unwrap();
    assert_eq!(a.selected_choices().len(), 3);
    let out = h.update(&w.id).is_applicable(false).send().await.unwrap();
    assert_eq!(
        out.answer().unwrap().risk().map(|r| r.as_str()),
        Some("NOT_APPLICABLE")
    );

    // The lens may be named by its ARN (the SDK percent-encodes the label).
    let arn = format!("arn:aws:wellarchitected:us-east-1::lens/{LENS_ALIAS}");
    let out = h.answer(&w.id).lens_alias(arn).send().await.unwrap();
    assert_eq!(out.answer().unwrap().is_applicable(), Some(false));
}

#[tokio::test]
async fn update_answer_rejects_unknown_choices_without_changing_anything() {
    let h = Harness::start(Simulator::new("us-east-1")).await;
    let w = h.sim.add_workload(spec("validation", &[CHOICE_NONE]));
    let bogus = h
        .update(&w.id)
        .selected_choices("rel_prevent_interaction_failure_bogus");
    assert!(service_err!(bogus).is_validation_exception());
    let no_status = ChoiceUpdate::builder().notes("x").build();
    let update = h.update(&w.id).selected_choices(CHOICE_IDENTIFY);
    assert!(
        service_err!(update.choice_updates(CHOICE_IDEMPOTENT, no_status)).is_validation_exception()
    );
    assert_eq!(
        h.sim.workload(&w.id).unwrap().answer.selected,
        [CHOICE_NONE]
    );
    assert_eq!(h.sim.calls().operation("UpdateAnswer").validation, 2);
}

#[tokio::test]
async fn get_workload_and_list_tags_show_tags() {
    let h = Harness::start(Simulator::new("eu-central-1")).await;
    let mut s = spec("tagged", &[]);
    s.tags = BTreeMap::from([
        ("env".into(), "prod".into()),
        ("rel04d:idempotent".into(), "False".into()),
    ]);
    let w = h.sim.add_workload(s);
    let untagged = h.sim.add_workload(spec("untagged", &[]));

    let out = h
        .client
        .get_workload()
        .workload_id(&w.id)
        .send()
        .await
        .unwrap();
    let wl = out.workload().unwrap();
    assert_eq!(wl.workload_arn(), Some(w.arn.as_str()));
    assert_eq!(wl.owner(), Some("111122223333"));
    assert_eq!(wl.lenses(), [LENS_ALIAS]);
    let tag = wl.tags().unwrap().get("rel04d:idempotent");
    assert_eq!(tag.map(String::as_str), Some("False"));

    let tags = |arn: &str| h.client.list_tags_for_resource().workload_arn(arn).send();
    assert_eq!(tags(&w.arn).await.unwrap().tags().unwrap().len(), 2);
    assert!(
        tags(&untagged.arn)
            .await
            .unwrap()
            .tags()
            .is_none_or(|t| t.is_empty())
    );
    h.sim
        .set_tags(&w.id, BTreeMap::from([("team".into(), "data".into())]))
        .unwrap();
    let out = tags(&w.arn).await.unwrap();
    assert_eq!(out.tags().unwrap().keys().collect::<Vec<_>>(), ["team"]);
}

#[tokio::test]
async fn errors_map_to_the_sdk_error_variants() {
    let h = Harness::start(Simulator::new("us-east-1")).await;
    let (sim, client) = (&h.sim, &h.client);
    let w = sim.add_workload(spec("errors", &[]));
    let no_lens = WorkloadSpec {
        lenses: vec!["serverless".into()],
        ..spec("no-lens", &[])
    };
    let no_lens = sim.add_workload(no_lens);
    let get_workload = |id: &str| client.get_workload().workload_id(id);
    let tags = |arn: &str| client.list_tags_for_resource().workload_arn(arn);

    assert!(service_err!(get_workload(MISSING)).is_resource_not_found_exception());
    assert!(service_err!(h.answer(MISSING)).is_resource_not_found_exception());
    assert!(service_err!(h.answer(&w.id).question_id("other")).is_resource_not_found_exception());
    assert!(service_err!(h.answer(&no_lens.id)).is_resource_not_found_exception());
    let bad_arn = "arn:aws:wellarchitected:us-east-1:111122223333:workload/0123";
    assert!(service_err!(tags(bad_arn)).is_resource_not_found_exception());
    assert!(service_err!(get_workload("not-an-id")).is_validation_exception());
    assert!(service_err!(client.list_workloads().max_results(51)).is_validation_exception());

    sim.set_faults(Faults {
        deny_workloads: [w.id.clone()].into(),
        ..Faults::default()
    });
    assert!(service_err!(h.answer(&w.id)).is_access_denied_exception());
    get_workload(&no_lens.id).send().await.unwrap();
    let deny_list = BTreeSet::from(["ListWorkloads".to_string()]);
    sim.set_faults(Faults {
        deny_operations: deny_list,
        ..Faults::default()
    });
    assert!(service_err!(client.list_workloads()).is_access_denied_exception());

    sim.set_faults(Faults {
        throttle_probability: 1.0,
        ..Faults::default()
    });
    assert!(service_err!(get_workload(&w.id)).is_throttling_exception());
    assert!(service_err!(client.list_workloads()).is_throttling_exception());
    // Not modelled for ListTagsForResource, so the SDK keeps only the code.
    assert_eq!(
        service_err!(tags(&w.arn)).code(),
        Some("ThrottlingException")
    );

    sim.set_faults(Faults {
        error_probability: 1.0,
        ..Faults::default()
    });
    assert!(service_err!(h.answer(&w.id)).is_internal_server_exception());

    sim.set_faults(Faults {
        conflict_probability: 1.0,
        ..Faults::default()
    });
    h.answer(&w.id).send().await.unwrap();
    assert!(service_err!(h.update(&w.id).selected_choices(CHOICE_NONE)).is_conflict_exception());
    assert!(sim.workload(&w.id).unwrap().answer.selected.is_empty());

    let outcomes = sim.calls().outcomes;
    assert_eq!(
        (outcomes.denied, outcomes.throttled, outcomes.error),
        (2, 3, 1)
    );
    assert_eq!(
        (outcomes.conflict, outcomes.not_found, outcomes.validation),
        (1, 5, 2)
    );
    assert_eq!(outcomes.ok, 2);
}

#[tokio::test]
async fn rate_limit_throttles_a_burst() {
    let h = Harness::start(Simulator::generated("us-east-1", 5, 1)).await;
    let id = h.sim.workloads()[0].id.clone();
    h.sim.set_faults(Faults {
        rate_limit_per_second: Some(20.0),
        ..Faults::default()
    });
    let started = Instant::now();
    let mut throttled = 0;
    for _ in 0..60 {
        if let Err(e) = h.client.get_workload().workload_id(&id).send().await {
            assert!(e.into_service_error().is_throttling_exception());
            throttled += 1;
        }
    }
    let allowed = 60 - throttled;
    // Burst 2 plus the 20/s refill over the elapsed time bounds what may pass.
    let max_allowed = 2 + (started.elapsed().as_secs_f64() * 20.0).ceil() as usize;
    assert!(throttled > 0, "no throttles");
    assert!(
        (2..=max_allowed).contains(&allowed),
        "{allowed} allowed, at most {max_allowed}"
    );
    assert_eq!(
        h.sim.calls().operation("GetWorkload").throttled,
        throttled as u64
    );
}

#[tokio::test]
async fn latency_is_added_before_answering() {
    let h = Harness::start(Simulator::generated("us-east-1", 3, 1)).await;
    h.sim.set_faults(Faults {
        latency: Duration::from_millis(150),
        ..Faults::default()
    });
    let started = Instant::now();
    h.client.list_workloads().send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn http_admin_endpoints_work() {
    let h = Harness::start(Simulator::new("us-east-1")).await;
    let body = json!({"name": "from-http", "owner": "444455556666", "tags": {"env": "dev"},
        "answer": {"selected": [CHOICE_IDEMPOTENT]}});
    let (status, created) = h.admin("POST", "workloads", Some(body)).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["answer"]["is_applicable"], true);
    let bad = json!({"name": "bad", "answer": {"selected": ["nope"]}});
    assert_eq!(h.admin("POST", "workloads", Some(bad)).await.0, 400);

    let answer = json!({"selected": [], "not_applicable": [], "is_applicable": false});
    assert_eq!(
        h.admin("PUT", &format!("workloads/{id}/answer"), Some(answer))
            .await
            .0,
        200
    );
    assert!(!h.sim.workload(&id).unwrap().answer.is_applicable);
    let tags = json!({"a": "b"});
    assert_eq!(
        h.admin("PUT", &format!("workloads/{id}/tags"), Some(tags))
            .await
            .0,
        200
    );
    let lenses = json!(["serverless"]);
    assert_eq!(
        h.admin("PUT", &format!("workloads/{id}/lenses"), Some(lenses))
            .await
            .0,
        200
    );
    let (_, listed) = h.admin("GET", "workloads", None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["tags"], json!({"a": "b"}));
    assert_eq!(listed[0]["lenses"], json!(["serverless"]));
    let (status, one) = h.admin("GET", &format!("workloads/{id}"), None).await;
    assert_eq!((status, &one["id"]), (200, &json!(id)));

    let faults = json!({"throttle_probability": 1.0, "latency_ms": 5, "seed": 3});
    assert_eq!(h.admin("PUT", "faults", Some(faults)).await.0, 200);
    assert_eq!(h.sim.faults().latency, Duration::from_millis(5));
    assert_eq!(h.admin("GET", "faults", None).await.1["latency_ms"], 5);
    let invalid = json!({"error_probability": 2.0});
    assert_eq!(h.admin("PUT", "faults", Some(invalid)).await.0, 400);
    assert!(
        h.client
            .get_workload()
            .workload_id(&id)
            .send()
            .await
            .is_err()
    );

    let (_, calls) = h.admin("GET", "calls", None).await;
    assert_eq!(calls["total"], 1);
    assert_eq!(calls["operations"]["GetWorkload"]["throttled"], 1);
    assert_eq!(h.admin("POST", "calls/reset", None).await.0, 204);
    assert_eq!(h.sim.calls().total, 0);

    assert_eq!(
        h.admin("DELETE", &format!("workloads/{id}"), None).await.0,
        204
    );
    assert_eq!(
        h.admin("DELETE", &format!("workloads/{id}"), None).await.0,
        404
    );
    assert!(h.sim.workloads().is_empty());
    h.server.shutdown().await;
}

#[tokio::test]
async fn responses_carry_request_id_and_json_content_type() {
    let h = Harness::start(Simulator::new("us-east-1")).await;
    let base = h.server.url();
    let r = h
        .http
        .get(format!("{base}/workloads/{MISSING}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["content-type"], "application/json");
    assert_eq!(r.headers()["x-amzn-errortype"], "ResourceNotFoundException");
    let first = r.headers()["x-amzn-requestid"]
        .to_str()
        .unwrap()
        .to_string();
    let r = h
        .http
        .post(format!("{base}/workloadsSummaries"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_ne!(r.headers()["x-amzn-requestid"].to_str().unwrap(), first);

    // Dropping the handle stops the server.
    let addr = h.server.addr;
    drop(h);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn tag_untag_update_and_delete_through_the_sdk() {
    let h = Harness::start(Simulator::new("us-east-1")).await;
    let mut s = spec("payments", &[]);
    s.tags = BTreeMap::from([("env".into(), "prod".into())]);
    let w = h.sim.add_workload(s);
    let other = h.sim.add_workload(spec("orders", &[]));
    let client = &h.client;
    let tags = |arn: &str| client.list_tags_for_resource().workload_arn(arn).send();
    let keys = |out: &aws_sdk_wellarchitected::operation::list_tags_for_resource::ListTagsForResourceOutput| {
        out.tags().map(|t| t.keys().cloned().collect::<BTreeSet<_>>()).unwrap_or_default()
    };

    // TagResource adds and overwrites; UntagResource ignores absent keys.
    let tag = client.tag_resource().workload_arn(&w.arn);
    tag.tags("env", "staging")
        .tags("rel04d:idempotent", "False")
        .send()
        .await
        .unwrap();
    let out = tags(&w.arn).await.unwrap();
    assert_eq!(out.tags().unwrap()["env"], "staging");
    let untag = client.untag_resource().workload_arn(&w.arn).tag_keys("env");
    untag.tag_keys("absent").send().await.unwrap();
    assert_eq!(
        keys(&tags(&w.arn).await.unwrap()),
        BTreeSet::from(["rel04d:idempotent".to_string()])
    );
    let bad = client
        .tag_resource()
        .workload_arn(&w.arn)
        .tags("bad\tkey", "x");
    assert_eq!(service_err!(bad).code(), Some("ValidationException"));
    let missing_arn = w.arn.replace(&w.id, MISSING);
    let untag_missing = client
        .untag_resource()
        .workload_arn(&missing_arn)
        .tag_keys("a");
    assert!(service_err!(untag_missing).is_resource_not_found_exception());

    // UpdateWorkload answers with the workload; names are unique per owner,
    // ignoring case and spaces.
    let rename = |name: &str| {
        client
            .update_workload()
            .workload_id(&w.id)
            .workload_name(name)
    };
    let out = rename("payments-v2")
        .review_owner("sre")
        .send()
        .await
        .unwrap();
    assert_eq!(out.workload().unwrap().workload_name(), Some("payments-v2"));
    let got = client
        .get_workload()
        .workload_id(&w.id)
        .send()
        .await
        .unwrap();
    assert_eq!(got.workload().unwrap().review_owner(), Some("sre"));
    assert!(service_err!(rename(" ORDERS")).is_conflict_exception());
    assert_eq!(h.sim.workload(&w.id).unwrap().name, "payments-v2");

    // DeleteWorkload (the SDK adds the ClientRequestToken); afterwards the workload,
    // its tags and its answer are gone.
    client
        .delete_workload()
        .workload_id(&w.id)
        .send()
        .await
        .unwrap();
    assert!(
        service_err!(client.get_workload().workload_id(&w.id)).is_resource_not_found_exception()
    );
    assert!(
        service_err!(client.delete_workload().workload_id(&w.id)).is_resource_not_found_exception()
    );
    assert!(service_err!(h.answer(&w.id)).is_resource_not_found_exception());
    assert_eq!(
        tags(&w.arn).await.unwrap_err().into_service_error().code(),
        Some("ResourceNotFoundException")
    );

    // The in-process API shares the validation and effects.
    let two = BTreeMap::from([("a".to_string(), "1".to_string()), ("b".into(), "2".into())]);
    h.sim.tag_workload(&other.id, two).unwrap();
    h.sim.untag_workload(&other.id, &["a"]).unwrap();
    assert_eq!(
        keys(&tags(&other.arn).await.unwrap()),
        BTreeSet::from(["b".to_string()])
    );
    let bad = BTreeMap::from([("bad\nkey".to_string(), String::new())]);
    assert!(h.sim.tag_workload(&other.id, bad).is_err());
    let update = rel04d_simulator::WorkloadUpdate {
        name: Some("orders-v2".into()),
        environment: Some("PREPRODUCTION".into()),
        ..Default::default()
    };
    h.sim.update_workload(&other.id, update).unwrap();
    let got = client
        .get_workload()
        .workload_id(&other.id)
        .send()
        .await
        .unwrap();
    let got = got.workload().unwrap();
    assert_eq!(got.workload_name(), Some("orders-v2"));
    assert_eq!(got.environment().map(|e| e.as_str()), Some("PREPRODUCTION"));
    let calls = h.sim.calls();
    assert_eq!(calls.operation("TagResource").ok, 1);
    assert_eq!(calls.operation("DeleteWorkload").not_found, 1);
}

#[tokio::test]
async fn unimplemented_operations_give_the_sdk_a_modelled_error_naming_them() {
    let h = Harness::start(Simulator::new("us-east-1")).await;
    let err = service_err!(h.client.list_profiles());
    assert!(err.is_validation_exception(), "{err:?}");
    let message = err.message().unwrap_or_default();
    assert!(message.contains("ListProfiles"), "{message}");
}

/// What a REL 04 or custom-lens user drives with the real SDK: a custom lens of its
/// own questions, associated, answered, listed per pillar and per page, its review
/// falling behind (NOT_CURRENT, visible in ListLensReviews and ListNotifications)
/// and upgraded; and the per-workload call counts a test of a sweep reads.
#[tokio::test]
async fn custom_lenses_lens_reviews_and_list_answers_through_the_sdk() {
    use aws_sdk_wellarchitected::types::{LensStatus, NotificationType, WorkloadEnvironment};
    let h = Harness::start(Simulator::new("us-east-1")).await;
    let lens = "arn:aws:wellarchitected:us-east-1:111122223333:lens/sdk-lens";
    let (status, _) = h
        .admin(
            "POST",
            "lenses",
            Some(json!({
                "alias": lens, "name": "SDK lens", "version": "2", "previous_version": "1",
                "pillars": [{"id": "ops", "name": "Operations", "questions": [
                    {"id": "deploy-safety", "title": "How do you deploy safely?", "choices": [
                        {"id": "deploy_canary", "title": "Use canaries"},
                        {"id": "deploy_rollback", "title": "Roll back automatically"},
                        {"id": "deploy_no", "title": "None of these", "none_of_these": true}
                    ]}
                ]}]
            })),
        )
        .await;
    assert_eq!(status, 201);
    let created = h
        .client
        .create_workload()
        .workload_name("sdk-custom")
        .description("custom lens user")
        .environment(WorkloadEnvironment::Production)
        .lenses(LENS_ALIAS)
        .client_request_token("sdk-create")
        .send()
        .await
        .expect("CreateWorkload");
    let id = created.workload_id().unwrap().to_string();
    h.client
        .associate_lenses()
        .workload_id(&id)
        .lens_aliases(lens)
        .send()
        .await
        .expect("AssociateLenses");
    let update = h.client.update_answer().workload_id(&id).lens_alias(lens);
    let out = update
        .question_id("deploy-safety")
        .selected_choices("deploy_canary")
        .send()
        .await
        .expect("UpdateAnswer on a custom lens");
    let answer = out.answer().unwrap();
    assert_eq!(answer.question_title(), Some("How do you deploy safely?"));
    assert_eq!(answer.choices()[2].title(), Some("None of these"));
    assert_eq!(answer.risk().map(|r| r.as_str()), Some("MEDIUM"));

    let list = h
        .client
        .list_answers()
        .workload_id(&id)
        .lens_alias(LENS_ALIAS);
    let page = list
        .clone()
        .pillar_id("reliability")
        .max_results(1)
        .send()
        .await
        .expect("ListAnswers");
    assert_eq!(page.answer_summaries()[0].question_id(), Some(QUESTION_ID));
    let titles: Vec<_> = page.answer_summaries()[0]
        .choices()
        .iter()
        .filter_map(|c| c.title())
        .collect();
    assert!(
        titles.contains(&"Make mutating operations idempotent"),
        "{titles:?}"
    );
    let mut ids = vec![QUESTION_ID.to_string()];
    let mut token = page.next_token().map(String::from);
    while token.is_some() {
        let next = list
            .clone()
            .pillar_id("reliability")
            .max_results(1)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        ids.extend(
            next.answer_summaries()
                .iter()
                .filter_map(|a| a.question_id())
                .map(String::from),
        );
        token = next.next_token().map(String::from);
    }
    assert_eq!(
        ids,
        [
            QUESTION_ID,
            "mitigate-interaction-failure",
            "fault-isolation"
        ]
    );

    h.sim.set_lens_status(&id, lens, "NOT_CURRENT").unwrap();
    let reviews = h
        .client
        .list_lens_reviews()
        .workload_id(&id)
        .send()
        .await
        .unwrap();
    let behind = &reviews.lens_review_summaries()[1];
    assert_eq!(behind.lens_status(), Some(&LensStatus::NotCurrent));
    assert_eq!(behind.lens_version(), Some("1"));
    let notes = h
        .client
        .list_notifications()
        .workload_id(&id)
        .send()
        .await
        .unwrap();
    let n = &notes.notification_summaries()[0];
    assert_eq!(n.r#type(), Some(&NotificationType::LensVersionUpgraded));
    h.client
        .upgrade_lens_review()
        .workload_id(&id)
        .lens_alias(lens)
        .milestone_name("before upgrade")
        .send()
        .await
        .expect("UpgradeLensReview");
    let review = h
        .client
        .get_lens_review()
        .workload_id(&id)
        .lens_alias(lens)
        .send()
        .await
        .unwrap();
    let review = review.lens_review().unwrap();
    assert_eq!(review.lens_status(), Some(&LensStatus::Current));
    assert_eq!(review.lens_version(), Some("2"));
    let milestones = h
        .client
        .list_milestones()
        .workload_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(milestones.milestone_summaries().len(), 1);

    let calls = h.sim.workload_calls(&id);
    assert_eq!(calls.get("ListAnswers"), Some(&3));
    assert_eq!(calls.get("UpdateAnswer"), Some(&1));
    let (_, by_http) = h.admin("GET", &format!("calls/workloads/{id}"), None).await;
    assert_eq!(by_http["ListAnswers"], 3);
}

#[tokio::test]
async fn lens_arns_and_choice_reasons_follow_the_api_reference() {
    let h = Harness::start(Simulator::new("us-east-1")).await;
    let w = h.sim.add_workload(spec("lens-arns", &[CHOICE_IDENTIFY]));

    // Official lenses by ARN: this region, no account id. Anything else names
    // another lens (a custom one, or one of another region) and is not found.
    let arn = |region: &str, account: &str| {
        format!("arn:aws:wellarchitected:{region}:{account}:lens/{LENS_ALIAS}")
    };
    h.answer(&w.id)
        .lens_alias(arn("us-east-1", ""))
        .send()
        .await
        .unwrap();
    for other in [arn("eu-west-1", ""), arn("us-east-1", "111122223333")] {
        let err = service_err!(h.answer(&w.id).lens_alias(&other));
        assert!(err.is_resource_not_found_exception(), "{other}: {err:?}");
    }

    // A reason is "why a choice is non-applicable": not for SELECTED choices.
    let selected = ChoiceUpdate::builder().status(ChoiceStatus::Selected);
    let selected = selected.reason(ChoiceReason::Other).build();
    let err = service_err!(h.update(&w.id).choice_updates(CHOICE_IDEMPOTENT, selected));
    assert!(err.is_validation_exception(), "{err:?}");

    // A NOT_APPLICABLE choice that is then selected loses its reason.
    let na = ChoiceUpdate::builder().status(ChoiceStatus::NotApplicable);
    let na = na.reason(ChoiceReason::BusinessPriorities).build();
    let out = h
        .update(&w.id)
        .choice_updates(CHOICE_IDEMPOTENT, na)
        .send()
        .await
        .unwrap();
    let reason_of = |a: &aws_sdk_wellarchitected::types::Answer| {
        let c = a
            .choice_answers()
            .iter()
            .find(|c| c.choice_id() == Some(CHOICE_IDEMPOTENT));
        c.and_then(|c| c.reason().cloned())
    };
    assert_eq!(
        reason_of(out.answer().unwrap()),
        Some(ChoiceReason::BusinessPriorities)
    );
    let select = h.update(&w.id).selected_choices(CHOICE_IDENTIFY);
    let out = select
        .selected_choices(CHOICE_IDEMPOTENT)
        .send()
        .await
        .unwrap();
    assert_eq!(out.answer().unwrap().selected_choices().len(), 2);
    assert_eq!(reason_of(out.answer().unwrap()), None);
}
