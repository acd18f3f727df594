//! Checks the simulator's wire format against botocore's official model of the
//! Well-Architected Tool API (`wellarchitected/2020-03-31/service-2.json.gz`), read
//! from `$REL04D_BOTOCORE_MODEL` (set by `scripts/test.sh`, or by hand:
//! `export REL04D_BOTOCORE_MODEL="$(scripts/fetch-botocore-model.sh)"`).
//!
//! Raw HTTP (reqwest) drives the simulator so every JSON member it sends is seen,
//! and each body is walked against the model's shapes: member names, JSON types,
//! enums, lengths, ranges, patterns, required members. Errors are checked for status,
//! code and membership in the operation's error list. Request bodies are built from
//! the model's input shapes, and the real SDK sends requests with every member set.

use std::io::Read;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rel04d_simulator::{
    AnswerSpec, CHOICE_CONSTANT_WORK, CHOICE_IDEMPOTENT, Faults, LENS_ALIAS, LensDef, OPERATIONS,
    QUESTION_ID, SimServer, Simulator, UNSUPPORTED, WorkloadSpec,
};
use serde_json::{Map, Value, json};

/// Errors AWS sends for every operation although the model leaves them out of the
/// tag operations' lists (throttling, denial, and validation of the model's TagMap /
/// TagKeyList constraints). Each entry must stay absent from the model (else drop it).
const UNMODELED_BUT_REAL: [(&str, &str); 8] = [
    ("ListTagsForResource", "ThrottlingException"),
    ("ListTagsForResource", "AccessDeniedException"),
    ("TagResource", "ThrottlingException"),
    ("TagResource", "AccessDeniedException"),
    ("TagResource", "ValidationException"),
    ("UntagResource", "ThrottlingException"),
    ("UntagResource", "AccessDeniedException"),
    ("UntagResource", "ValidationException"),
];

/// Modelled errors the simulator never sends: CreateWorkload's quota (the
/// simulator has no workload quota).
const UNREACHED: [(&str, &str); 1] = [("CreateWorkload", "ServiceQuotaExceededException")];

/// A custom lens of two questions, one with a "None of these" choice.
const CUSTOM_LENS: &str = "arn:aws:wellarchitected:us-east-1:111122223333:lens/conformance";

fn custom_lens() -> LensDef {
    serde_json::from_value(json!({
        "alias": CUSTOM_LENS,
        "name": "Conformance lens",
        "description": "Two questions",
        "version": "2",
        "previous_version": "1",
        "pillars": [{"id": "data", "name": "Data", "questions": [
            {"id": "data-retention", "title": "How do you retain data?", "choices": [
                {"id": "retention_keep_backups", "title": "Keep backups", "description": "d"},
                {"id": "retention_no", "title": "None of these", "none_of_these": true}
            ]},
            {"id": "deploy-safety", "title": "How do you deploy safely?", "choices": [
                {"id": "deploy_canary", "title": "Use canaries"}
            ]}
        ]}]
    }))
    .unwrap()
}

fn model() -> Value {
    let path = std::env::var("REL04D_BOTOCORE_MODEL").unwrap_or_else(|_| {
        panic!(
            "REL04D_BOTOCORE_MODEL is not set: run scripts/test.sh, or \
             `export REL04D_BOTOCORE_MODEL=\"$(scripts/fetch-botocore-model.sh)\"` first"
        )
    });
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let mut text = String::new();
    if path.ends_with(".gz") {
        let mut gz = flate2::read::GzDecoder::new(&bytes[..]);
        gz.read_to_string(&mut text).unwrap();
    } else {
        text = String::from_utf8(bytes).unwrap();
    }
    serde_json::from_str(&text).expect("the model is JSON")
}

/// The model's `requestUri` is the route's, but for a trailing slash, which
/// botocore has changed between versions (`ListProfileNotifications`); the
/// simulator serves both forms of such a URI.
fn assert_same_uri(model: &Value, route: &str, operation: &str) {
    let model = model
        .as_str()
        .unwrap_or_else(|| panic!("{operation}: no requestUri"));
    assert_eq!(
        model.trim_end_matches('/'),
        route.trim_end_matches('/'),
        "{operation}"
    );
}

fn models_error(m: &Value, op: &str, code: &str) -> bool {
    let errors = m["operations"][op]["errors"].as_array().unwrap();
    errors.iter().any(|e| e["shape"] == code)
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// Walks `v` against model shape `name`, pushing every mismatch to `errs`.
fn check(m: &Value, name: &str, v: &Value, path: &str, errs: &mut Vec<String>) {
    let s = &m["shapes"][name];
    let mut fail = |what: String| errs.push(format!("{path}: {what} (shape {name})"));
    let (min, max) = (s["min"].as_i64(), s["max"].as_i64());
    let in_range = |n: i64| min.is_none_or(|min| n >= min) && max.is_none_or(|max| n <= max);
    match s["type"]
        .as_str()
        .unwrap_or_else(|| panic!("no shape {name}"))
    {
        "structure" => {
            let Some(obj) = v.as_object() else {
                return fail(format!("not an object: {v}"));
            };
            let members = s["members"].as_object().unwrap();
            for (key, value) in obj {
                let member = members.get(key).filter(|mem| mem.get("location").is_none());
                match member {
                    Some(mem) => check(
                        m,
                        str_of(mem, "shape"),
                        value,
                        &format!("{path}.{key}"),
                        errs,
                    ),
                    // Errors carry the protocol's `__type` next to their members.
                    None if key == "__type" && s.get("error").is_some() => {}
                    None => errs.push(format!("{path}.{key}: not a body member of {name}")),
                }
            }
            for req in s["required"].as_array().into_iter().flatten() {
                if !obj.contains_key(req.as_str().unwrap()) {
                    errs.push(format!("{path}: required {req} missing (shape {name})"));
                }
            }
        }
        "list" => {
            let Some(items) = v.as_array() else {
                return fail(format!("not an array: {v}"));
            };
            // Collection minimums constrain input; outputs may be empty.
            if max.is_some_and(|max| items.len() as i64 > max) {
                fail(format!("{} items exceed max", items.len()));
            }
            for (i, item) in items.iter().enumerate() {
                check(
                    m,
                    str_of(&s["member"], "shape"),
                    item,
                    &format!("{path}[{i}]"),
                    errs,
                );
            }
        }
        "map" => {
            let Some(obj) = v.as_object() else {
                return fail(format!("not an object: {v}"));
            };
            let (k, val) = (str_of(&s["key"], "shape"), str_of(&s["value"], "shape"));
            for (key, value) in obj {
                check(m, k, &json!(key), &format!("{path}{{key {key}}}"), errs);
                check(m, val, value, &format!("{path}.{key}"), errs);
            }
        }
        "string" => {
            let Some(text) = v.as_str() else {
                return fail(format!("not a string: {v}"));
            };
            if let Some(values) = s["enum"].as_array()
                && !values.iter().any(|e| e == text)
            {
                fail(format!("{text:?} is not one of {values:?}"));
            }
            if !in_range(text.chars().count() as i64) {
                fail(format!("length of {text:?} outside min/max"));
            }
            if let Some(p) = s["pattern"].as_str() {
                let re = regex::Regex::new(&format!("^(?:{p})$")).unwrap();
                if !re.is_match(text) {
                    fail(format!("{text:?} does not match {p}"));
                }
            }
        }
        "boolean" if !v.is_boolean() => fail(format!("not a boolean: {v}")),
        "integer" | "long" if !v.as_i64().is_some_and(in_range) => {
            fail(format!("not an integer within min/max: {v}"))
        }
        // No timestampFormat in the model: REST-JSON bodies use epoch seconds.
        "timestamp" if s.get("timestampFormat").is_none() && !v.is_number() => {
            fail(format!("not an epoch-seconds number: {v}"))
        }
        "double" | "float" if !v.is_number() => fail(format!("not a number: {v}")),
        _ => {}
    }
}

fn assert_conforms(m: &Value, shape: &str, body: &Value) {
    let mut errs = Vec::new();
    check(m, shape, body, shape, &mut errs);
    assert!(
        errs.is_empty(),
        "{shape} does not conform:\n{}\nbody: {body:#}",
        errs.join("\n")
    );
}

/// The SDK's label encoding: everything but unreserved characters is percent-encoded.
const LABEL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// One request of operation `op`: URI labels in order, query string, JSON body.
#[derive(Clone, Debug)]
struct Req {
    op: &'static str,
    labels: Vec<String>,
    query: String,
    body: Option<Value>,
}

fn req(op: &'static str, labels: &[&str]) -> Req {
    let labels = labels.iter().map(|s| s.to_string()).collect();
    Req {
        op,
        labels,
        query: String::new(),
        body: None,
    }
}

fn answer_req(op: &'static str, workload: &str) -> Req {
    req(op, &[workload, LENS_ALIAS, QUESTION_ID])
}

impl Req {
    fn body(self, body: Value) -> Self {
        Req {
            body: Some(body),
            ..self
        }
    }

    fn query(self, query: &str) -> Self {
        Req {
            query: query.to_owned(),
            ..self
        }
    }
}

struct Harness {
    m: Value,
    sim: Simulator,
    server: SimServer,
    http: reqwest::Client,
}

impl Harness {
    async fn start() -> Self {
        let sim = Simulator::generated("us-east-1", 30, 11);
        let server = sim.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
        Harness {
            m: model(),
            sim,
            server,
            http: reqwest::Client::new(),
        }
    }

    /// Sends `r` over the model's binding; returns (status, error code header, body),
    /// the body `Null` when empty.
    async fn send(&self, r: &Req) -> (u16, Option<String>, Value) {
        let http = &self.m["operations"][r.op]["http"];
        let mut uri = str_of(http, "requestUri").to_string();
        for label in &r.labels {
            let (start, end) = (uri.find('{').unwrap(), uri.find('}').unwrap());
            uri.replace_range(start..=end, &utf8_percent_encode(label, LABEL).to_string());
        }
        let method = str_of(http, "method").parse().unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{uri}{}", self.server.url(), r.query));
        if let Some(b) = &r.body {
            request = request
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let response = request.send().await.unwrap();
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "application/json", "{r:?}");
        assert!(
            headers.contains_key("x-amzn-requestid"),
            "{r:?}: no x-amzn-RequestId"
        );
        let code = headers
            .get("x-amzn-errortype")
            .map(|c| c.to_str().unwrap().to_string());
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{r:?}: {e}"))
        };
        (status, code, body)
    }

    /// Sends a request that must succeed; checks the body against the output shape.
    /// An operation with no output members answers with an empty body, as the API
    /// reference says ("an HTTP 200 response with an empty HTTP body").
    async fn ok(&self, r: Req) -> Value {
        let (status, _, body) = self.send(&r).await;
        let op = &self.m["operations"][r.op];
        // Newer botocore models leave out a success code of 200, the default.
        let expected = op["http"]["responseCode"].as_u64().unwrap_or(200);
        assert_eq!(u64::from(status), expected, "{r:?}: {body}");
        let output = op["output"]["shape"].as_str();
        let members = output.and_then(|o| self.m["shapes"][o]["members"].as_object());
        match (output, members) {
            (Some(shape), Some(m)) if !m.is_empty() => assert_conforms(&self.m, shape, &body),
            _ => assert_eq!(body, Value::Null, "{r:?}: expected an empty body"),
        }
        body
    }

    /// Sends a request that must fail with a modelled error; returns its code.
    async fn error(&self, r: &Req) -> String {
        let (status, code, body) = self.send(r).await;
        let code = code.unwrap_or_else(|| panic!("{r:?}: expected an error, got {status} {body}"));
        assert_eq!(
            body["__type"], code,
            "{r:?}: __type and X-Amzn-Errortype differ"
        );
        let listed = models_error(&self.m, r.op, &code);
        assert!(
            listed || UNMODELED_BUT_REAL.contains(&(r.op, &code)),
            "{} emits {code}",
            r.op
        );
        let status_in_model = self.m["shapes"][&code]["error"]["httpStatusCode"].as_u64();
        assert_eq!(status_in_model, Some(u64::from(status)), "{r:?} {code}");
        assert_conforms(&self.m, &code, &body);
        code
    }

    fn add(
        &self,
        name: &str,
        lenses: &[&str],
        answer: AnswerSpec,
    ) -> rel04d_simulator::WorkloadInfo {
        let lenses = lenses.iter().map(|l| l.to_string()).collect();
        let spec = WorkloadSpec {
            name: name.into(),
            lenses,
            answer,
            ..WorkloadSpec::default()
        };
        self.sim.add_workload(spec)
    }
}

#[tokio::test]
async fn operation_bindings_match_the_model() {
    let m = model();
    assert_eq!(m["metadata"]["protocol"], "rest-json");
    assert_eq!(m["metadata"]["apiVersion"], "2020-03-31");
    for route in OPERATIONS {
        let http = &m["operations"][route.name]["http"];
        assert_eq!(http["method"], route.method, "{}", route.name);
        assert_same_uri(&http["requestUri"], route.uri, route.name);
    }
    for (op, code) in UNMODELED_BUT_REAL {
        assert!(
            !models_error(&m, op, code),
            "{op} now models {code}: drop it from the list"
        );
    }
    for route in UNSUPPORTED {
        let http = &m["operations"][route.name]["http"];
        assert_eq!(http["method"], route.method, "{}", route.name);
        assert_same_uri(&http["requestUri"], route.uri, route.name);
        assert!(!OPERATIONS.iter().any(|r| r.name == route.name));
    }
    // Every operation is either implemented or answered as unsupported, except
    // those newer than the tables: see `operations_newer_than_the_tables_…`.
    let newer = newer_operations(&m);
    if !newer.is_empty() {
        eprintln!("operations newer than the simulator's tables: {newer:?}");
    }
}

/// Operations the simulator does not implement answer with the service's own
/// ValidationException (reason UNKNOWN_OPERATION), an error each of them models,
/// naming the operation; they are not counted.
/// The model's operations that neither table lists. The tables were written
/// from botocore 1.35's model, where there are none; CI installs the newest
/// botocore, whose model grows (1.44 added forty `*Agent*` operations).
fn newer_operations(m: &Value) -> Vec<&'static str> {
    m["operations"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|op| {
            !OPERATIONS
                .iter()
                .chain(&UNSUPPORTED)
                .any(|r| r.name == op.as_str())
        })
        .map(|op| &*Box::leak(op.clone().into_boxed_str()))
        .collect()
}

/// Operations newer than the tables are answered as any path the simulator
/// does not know (404 `UnknownOperationException`), never by a handler of
/// another operation whose binding their URI happens to match.
#[tokio::test]
async fn operations_newer_than_the_tables_get_the_unknown_operation_error() {
    let h = Harness::start().await;
    for op in newer_operations(&h.m) {
        let uri = str_of(&h.m["operations"][op]["http"], "requestUri");
        let labels: Vec<&str> = uri.matches('{').map(|_| "conf-newer").collect();
        let (status, code, _) = h.send(&req(op, &labels).body(json!({}))).await;
        assert_eq!(status, 404, "{op}");
        assert_eq!(code.as_deref(), Some("UnknownOperationException"), "{op}");
    }
}

#[tokio::test]
async fn unsupported_operations_get_a_modelled_validation_error_naming_them() {
    let h = Harness::start().await;
    let w = h.add("conf-unsupported", &[LENS_ALIAS], AnswerSpec::default());
    for route in UNSUPPORTED {
        let labels: Vec<&str> = route
            .uri
            .matches('{')
            .enumerate()
            .map(|(i, _)| if i == 0 { w.id.as_str() } else { LENS_ALIAS })
            .collect();
        let r = req(route.name, &labels).body(json!({}));
        let (_, _, body) = h.send(&r).await;
        assert_eq!(h.error(&r).await, "ValidationException", "{}", route.name);
        assert_eq!(body["Reason"], "UNKNOWN_OPERATION", "{}", route.name);
        let message = str_of(&body, "Message");
        assert!(message.contains(route.name), "{}: {message}", route.name);
    }
    assert_eq!(
        h.sim.calls().total,
        0,
        "unsupported operations are not counted"
    );
}

#[tokio::test]
async fn success_responses_conform_to_the_output_shapes() {
    let h = Harness::start().await;
    let answer = AnswerSpec {
        selected: vec![CHOICE_IDEMPOTENT.into()],
        not_applicable: vec![CHOICE_CONSTANT_WORK.into()],
        is_applicable: true,
    };
    let w = h.add("conf-tagged", &[LENS_ALIAS], answer);
    let tags = [("rel04d:idempotent".to_string(), "False".to_string())].into();
    h.sim.set_tags(&w.id, tags).unwrap();
    let plain = h.add("conf-plain", &[LENS_ALIAS], AnswerSpec::default());

    let first = h
        .ok(req("ListWorkloads", &[]).body(json!({"MaxResults": 7})))
        .await;
    let token = str_of(&first, "NextToken");
    h.ok(req("ListWorkloads", &[]).body(json!({"MaxResults": 50, "NextToken": token})))
        .await;
    let answer = h.ok(answer_req("GetAnswer", &w.id)).await;
    assert_eq!(
        answer["Answer"]["ChoiceAnswers"].as_array().unwrap().len(),
        2
    );
    h.ok(req("ListTagsForResource", &[&w.arn])).await;
    h.ok(req("ListTagsForResource", &[&plain.arn])).await;
    // Every generated variant: answers of all kinds, lenses, tags.
    for w in h.sim.workloads() {
        h.ok(req("GetWorkload", &[&w.id])).await;
        if w.lenses.iter().any(|l| l == LENS_ALIAS) {
            h.ok(answer_req("GetAnswer", &w.id)).await;
        }
    }

    // The writes: tag and untag (empty bodies), update (answers the workload),
    // delete (empty body; a retry with the same token succeeds again).
    let tag = json!({"Tags": {"team": "data", "rel04d:idempotent": "True"}});
    h.ok(req("TagResource", &[&w.arn]).body(tag)).await;
    let untag = req("UntagResource", &[&w.arn]).query("?tagKeys=team&tagKeys=absent");
    h.ok(untag).await;
    let tags = h.ok(req("ListTagsForResource", &[&w.arn])).await;
    assert_eq!(tags["Tags"], json!({"rel04d:idempotent": "True"}));
    let update = json!({"WorkloadName": "conf-renamed", "Environment": "PREPRODUCTION",
        "ImprovementStatus": "IN_PROGRESS", "Notes": "updated"});
    let updated = h.ok(req("UpdateWorkload", &[&plain.id]).body(update)).await;
    assert_eq!(updated["Workload"]["WorkloadName"], "conf-renamed");
    assert_eq!(updated["Workload"]["ImprovementStatus"], "IN_PROGRESS");
    let delete = req("DeleteWorkload", &[&plain.id]).query("?ClientRequestToken=conf-delete-1");
    h.ok(delete.clone()).await;
    h.ok(delete).await;
    assert!(h.sim.workload(&plain.id).is_none());
}

#[tokio::test]
async fn lens_review_lens_and_milestone_responses_conform_to_the_output_shapes() {
    let h = Harness::start().await;
    h.sim.add_lens(custom_lens()).unwrap();
    let create = json!({"WorkloadName": "conf-created", "Description": "made by CreateWorkload",
        "Environment": "PRODUCTION", "Lenses": [LENS_ALIAS], "ClientRequestToken": "conf-create-1",
        "Tags": {"team": "data"}});
    let created = h.ok(req("CreateWorkload", &[]).body(create.clone())).await;
    let again = h.ok(req("CreateWorkload", &[]).body(create)).await;
    assert_eq!(created, again, "a retry with the same token");
    let id = str_of(&created, "WorkloadId").to_string();
    let got = h.ok(req("GetWorkload", &[&id])).await;
    assert_eq!(got["Workload"]["WorkloadName"], "conf-created");
    assert_eq!(got["Workload"]["Tags"], json!({"team": "data"}));

    let associate = json!({"LensAliases": [CUSTOM_LENS]});
    h.ok(req("AssociateLenses", &[&id]).body(associate)).await;
    let answers = h.ok(req("ListAnswers", &[&id, LENS_ALIAS])).await;
    assert_eq!(answers["AnswerSummaries"].as_array().unwrap().len(), 3);
    let first = h
        .ok(req("ListAnswers", &[&id, CUSTOM_LENS]).query("?MaxResults=1&QuestionPriority=NONE"))
        .await;
    assert_eq!(first["AnswerSummaries"][0]["QuestionId"], "data-retention");
    let token = str_of(&first, "NextToken");
    let second = h
        .ok(req("ListAnswers", &[&id, CUSTOM_LENS])
            .query(&format!("?MaxResults=1&NextToken={token}")))
        .await;
    assert_eq!(second["AnswerSummaries"][0]["QuestionId"], "deploy-safety");
    assert!(second.get("NextToken").is_none());
    let one_pillar = h
        .ok(req("ListAnswers", &[&id, LENS_ALIAS]).query("?PillarId=reliability"))
        .await;
    assert_eq!(one_pillar["AnswerSummaries"].as_array().unwrap().len(), 3);
    h.ok(req("GetAnswer", &[&id, CUSTOM_LENS, "data-retention"]))
        .await;
    let select = json!({"SelectedChoices": ["retention_no"]});
    let out = h
        .ok(req("UpdateAnswer", &[&id, CUSTOM_LENS, "data-retention"]).body(select))
        .await;
    assert_eq!(out["Answer"]["Risk"], "HIGH");

    h.sim
        .set_lens_status(&id, CUSTOM_LENS, "NOT_CURRENT")
        .unwrap();
    let reviews = h.ok(req("ListLensReviews", &[&id])).await;
    let summaries = reviews["LensReviewSummaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 2);
    assert_eq!(summaries[1]["LensStatus"], "NOT_CURRENT");
    assert_eq!(summaries[1]["LensVersion"], "1");
    let notifications = h
        .ok(req("ListNotifications", &[]).body(json!({"WorkloadId": id})))
        .await;
    let n = &notifications["NotificationSummaries"][0];
    assert_eq!(n["Type"], "LENS_VERSION_UPGRADED");
    assert_eq!(n["LensUpgradeSummary"]["LatestLensVersion"], "2");
    h.ok(req("GetLensReview", &[&id, CUSTOM_LENS])).await;
    let notes = json!({"LensNotes": "lens notes", "PillarNotes": {"data": "pillar notes"}});
    let review = h
        .ok(req("UpdateLensReview", &[&id, CUSTOM_LENS]).body(notes))
        .await;
    assert_eq!(review["LensReview"]["Notes"], "lens notes");
    let upgrade = json!({"MilestoneName": "before-upgrade", "ClientRequestToken": "up-1"});
    h.ok(req("UpgradeLensReview", &[&id, CUSTOM_LENS]).body(upgrade))
        .await;
    assert_eq!(h.sim.lens_status(&id, CUSTOM_LENS), Some("CURRENT"));

    let milestone = json!({"MilestoneName": "release-1", "ClientRequestToken": "ms-1"});
    let made = h.ok(req("CreateMilestone", &[&id]).body(milestone)).await;
    assert_eq!(made["MilestoneNumber"], 2, "the upgrade made milestone 1");
    h.ok(req("ListMilestones", &[&id]).body(json!({"MaxResults": 1})))
        .await;
    h.ok(req("GetMilestone", &[&id, "1"])).await;
    let frozen = h
        .ok(req("GetLensReview", &[&id, CUSTOM_LENS]).query("?MilestoneNumber=1"))
        .await;
    assert_eq!(frozen["LensReview"]["LensStatus"], "NOT_CURRENT");
    h.ok(req("ListLensReviews", &[&id]).query("?MilestoneNumber=2"))
        .await;
    h.ok(req("ListAnswers", &[&id, CUSTOM_LENS]).query("?MilestoneNumber=2"))
        .await;
    h.ok(req("GetAnswer", &[&id, CUSTOM_LENS, "data-retention"]).query("?MilestoneNumber=2"))
        .await;

    let lenses = h.ok(req("ListLenses", &[])).await;
    assert_eq!(lenses["LensSummaries"].as_array().unwrap().len(), 2);
    h.ok(req("ListLenses", &[]).query("?LensType=CUSTOM_SELF&MaxResults=1"))
        .await;
    h.ok(req("GetLens", &[LENS_ALIAS])).await;
    h.ok(req("GetLens", &[CUSTOM_LENS]).query("?LensVersion=1"))
        .await;
    h.ok(req("DisassociateLenses", &[&id]).body(json!({"LensAliases": [CUSTOM_LENS]})))
        .await;
    assert_eq!(h.sim.workload(&id).unwrap().lenses, [LENS_ALIAS]);
}

/// A sample value for every body member of `shape`, from the model itself, so a
/// member the simulator misnames is sent under the model's name.
fn sample(m: &Value, shape: &str, path: &str) -> Value {
    let s = &m["shapes"][shape];
    let sub = |of: &Value, suffix: &str| sample(m, str_of(of, "shape"), &format!("{path}{suffix}"));
    match s["type"].as_str().unwrap() {
        "structure" => {
            let members = s["members"].as_object().unwrap().iter();
            let body_members =
                members.filter(|(k, mem)| mem.get("location").is_none() && *k != "NextToken");
            Value::Object(
                body_members
                    .map(|(k, mem)| (k.clone(), sub(mem, &format!(".{k}"))))
                    .collect::<Map<_, _>>(),
            )
        }
        "list" => json!([sub(&s["member"], "[]")]),
        "map" => json!({ CHOICE_CONSTANT_WORK: sub(&s["value"], "{}") }),
        "boolean" => json!(true),
        "integer" | "long" => json!(s["min"].as_i64().unwrap_or(1)),
        "string" if path.ends_with("SelectedChoices[]") => json!(CHOICE_IDEMPOTENT),
        "string" if path.ends_with(".Status") => json!("NOT_APPLICABLE"),
        "string" => match s["enum"].as_array() {
            Some(values) => values[0].clone(),
            None => json!(format!("conformance-{}", path.rsplit('.').next().unwrap())),
        },
        other => panic!("no sample for {other} at {path}"),
    }
}

#[tokio::test]
async fn request_bodies_built_from_the_model_are_understood() {
    let h = Harness::start().await;
    // Not applicable, so the sample's `IsApplicable: true` has a visible effect.
    let not_applicable = AnswerSpec {
        is_applicable: false,
        ..AnswerSpec::default()
    };
    let w = h.add(
        "conformance-WorkloadNamePrefix-x",
        &[LENS_ALIAS],
        not_applicable,
    );

    let body = sample(&h.m, "UpdateAnswerInput", "UpdateAnswerInput");
    let out = h
        .ok(answer_req("UpdateAnswer", &w.id).body(body.clone()))
        .await;
    let a = &out["Answer"];
    assert_eq!(
        a["SelectedChoices"],
        json!([CHOICE_IDEMPOTENT]),
        "sent {body}"
    );
    assert_eq!(
        (&a["IsApplicable"], &body["IsApplicable"]),
        (&json!(true), &json!(true))
    );
    assert_eq!(
        (&a["Notes"], &a["Reason"]),
        (&body["Notes"], &body["Reason"])
    );
    let choices = a["ChoiceAnswers"].as_array().unwrap();
    let cw = choices
        .iter()
        .find(|c| c["ChoiceId"] == CHOICE_CONSTANT_WORK)
        .unwrap();
    assert_eq!(cw["Status"], "NOT_APPLICABLE");
    assert_eq!(
        cw["Notes"],
        body["ChoiceUpdates"][CHOICE_CONSTANT_WORK]["Notes"]
    );

    // Every UpdateWorkloadInput member; the kept ones show in GetWorkload.
    let other = h.add("conf-update-me", &[LENS_ALIAS], AnswerSpec::default());
    let body = sample(&h.m, "UpdateWorkloadInput", "UpdateWorkloadInput");
    h.ok(req("UpdateWorkload", &[&other.id]).body(body.clone()))
        .await;
    let got = h.ok(req("GetWorkload", &[&other.id])).await;
    for member in [
        "WorkloadName",
        "Description",
        "Environment",
        "ReviewOwner",
        "Notes",
        "ImprovementStatus",
    ] {
        assert_eq!(got["Workload"][member], body[member], "{member}");
    }
    let body = sample(&h.m, "TagResourceInput", "TagResourceInput");
    h.ok(req("TagResource", &[&other.arn]).body(body.clone()))
        .await;
    let tags = h.ok(req("ListTagsForResource", &[&other.arn])).await;
    assert_eq!(tags["Tags"], body["Tags"]);

    let body = sample(&h.m, "ListWorkloadsInput", "ListWorkloadsInput");
    let out = h.ok(req("ListWorkloads", &[]).body(body.clone())).await;
    let summaries = out["WorkloadSummaries"].as_array().unwrap();
    let names: Vec<_> = summaries.iter().map(|s| &s["WorkloadName"]).collect();
    assert_eq!(names, [&json!(w.name)], "sent {body}");
}

#[tokio::test]
async fn every_emitted_error_is_a_modelled_error_of_its_operation() {
    let h = Harness::start().await;
    let w = h.add("conf-errors", &[LENS_ALIAS], AnswerSpec::default());
    let no_lens = h.add("conf-no-lens", &["serverless"], AnswerSpec::default());
    let missing = "ffffffffffffffffffffffffffffffff";
    let list = || req("ListWorkloads", &[]);
    let update = || answer_req("UpdateAnswer", &w.id);
    let (v, nf) = ("ValidationException", "ResourceNotFoundException");
    let other_region_lens = format!("arn:aws:wellarchitected:eu-west-1::lens/{LENS_ALIAS}");
    let custom_named_like =
        format!("arn:aws:wellarchitected:us-east-1:111122223333:lens/{LENS_ALIAS}");
    let missing_arn = w.arn.replace(&w.id, missing);
    let rename = || req("UpdateWorkload", &[&w.id]);
    const TOKEN: &str = "?ClientRequestToken=conf-token";
    let cases = [
        (v, list().body(json!({"MaxResults": 51}))),
        (v, list().body(json!({"MaxResults": 0}))),
        (v, list().body(json!({"NextToken": "bogus"}))),
        (v, req("GetWorkload", &["not-a-workload-id"])),
        (nf, req("GetWorkload", &[missing])),
        (nf, answer_req("GetAnswer", missing)),
        (nf, answer_req("GetAnswer", &no_lens.id)),
        (nf, req("GetAnswer", &[&w.id, LENS_ALIAS, "other-question"])),
        (
            nf,
            answer_req("GetAnswer", &w.id).query("?MilestoneNumber=1"),
        ),
        (
            v,
            answer_req("GetAnswer", &w.id).query("?MilestoneNumber=101"),
        ),
        (v, update().body(json!({"SelectedChoices": ["bogus"]}))),
        (
            v,
            update().body(json!({"ChoiceUpdates": {CHOICE_IDEMPOTENT: {"Status": "MAYBE"}}})),
        ),
        (v, update().body(json!({"IsApplicable": "yes"}))),
        (nf, answer_req("UpdateAnswer", missing).body(json!({}))),
        (
            nf,
            req("ListTagsForResource", &[&w.arn.replace(&w.id, missing)]),
        ),
        (nf, req("ListTagsForResource", &["not-an-arn"])),
        // Lens ARNs: another region's official lens, or a custom lens of that name.
        (
            nf,
            req("GetAnswer", &[&w.id, &other_region_lens, QUESTION_ID]),
        ),
        (
            nf,
            req("GetAnswer", &[&w.id, &custom_named_like, QUESTION_ID]),
        ),
        (v, req("UpdateWorkload", &["not-an-id"]).body(json!({}))),
        (v, rename().body(json!({"Environment": "STAGING"}))),
        (v, rename().body(json!({"WorkloadName": "ab"}))),
        (
            v,
            rename().body(json!({"IsReviewOwnerUpdateAcknowledged": "yes"})),
        ),
        (
            "ConflictException",
            rename().body(json!({"WorkloadName": "Conf-No -Lens"})),
        ),
        (nf, req("UpdateWorkload", &[missing]).body(json!({}))),
        (v, req("DeleteWorkload", &[&w.id])),
        (v, req("DeleteWorkload", &["not-an-id"]).query(TOKEN)),
        (nf, req("DeleteWorkload", &[missing]).query(TOKEN)),
        (v, req("TagResource", &[&w.arn]).body(json!({}))),
        (
            v,
            req("TagResource", &[&w.arn]).body(json!({"Tags": {"a\tb": "x"}})),
        ),
        (
            nf,
            req("TagResource", &[&missing_arn]).body(json!({"Tags": {"a": "b"}})),
        ),
        (v, req("UntagResource", &[&w.arn])),
        (
            nf,
            req("UntagResource", &[&missing_arn]).query("?tagKeys=a"),
        ),
    ];
    let mut seen = Vec::new();
    for (code, r) in cases {
        assert_eq!(h.error(&r).await, code, "{r:?}");
        seen.push((r.op, code.to_string()));
    }

    // Lens reviews, lenses, milestones, notifications, CreateWorkload.
    h.sim.add_lens(custom_lens()).unwrap();
    let behind = h.add(
        "conf-behind",
        &[LENS_ALIAS, CUSTOM_LENS],
        AnswerSpec::default(),
    );
    h.sim
        .set_lens_status(&behind.id, CUSTOM_LENS, "NOT_CURRENT")
        .unwrap();
    let full = h.add(
        "conf-full",
        &[LENS_ALIAS, CUSTOM_LENS],
        AnswerSpec::default(),
    );
    for n in 0..100 {
        let body =
            json!({"MilestoneName": format!("m-{n:03}"), "ClientRequestToken": format!("t{n}")});
        h.ok(req("CreateMilestone", &[&full.id]).body(body)).await;
    }
    h.sim
        .set_lens_status(&full.id, CUSTOM_LENS, "DEPRECATED")
        .unwrap();
    let (c, q) = ("ConflictException", "ServiceQuotaExceededException");
    let create = |body: Value| req("CreateWorkload", &[]).body(body);
    let good_create = json!({"WorkloadName": "conf-new", "Description": "desc",
        "Environment": "PRODUCTION", "Lenses": [LENS_ALIAS], "ClientRequestToken": "c1"});
    let with = |k: &str, v: Value| {
        let mut b = good_create.clone();
        b[k] = v;
        b
    };
    let milestone =
        |name: &str, token: &str| json!({"MilestoneName": name, "ClientRequestToken": token});
    let more = [
        (
            v,
            req("ListAnswers", &[&w.id, LENS_ALIAS]).query("?MaxResults=0"),
        ),
        (
            v,
            req("ListAnswers", &[&w.id, LENS_ALIAS]).query("?PillarId=nope"),
        ),
        (
            v,
            req("ListAnswers", &[&w.id, LENS_ALIAS]).query("?NextToken=bogus"),
        ),
        (nf, req("ListAnswers", &[missing, LENS_ALIAS])),
        (nf, req("ListAnswers", &[&no_lens.id, LENS_ALIAS])),
        (v, req("ListLensReviews", &[&w.id]).query("?MaxResults=51")),
        (nf, req("ListLensReviews", &[missing])),
        (
            v,
            req("GetLensReview", &[&w.id, LENS_ALIAS]).query("?MilestoneNumber=0"),
        ),
        (nf, req("GetLensReview", &[&w.id, CUSTOM_LENS])),
        (
            v,
            req("UpdateLensReview", &[&w.id, LENS_ALIAS])
                .body(json!({"PillarNotes": {"nope": "x"}})),
        ),
        (
            nf,
            req("UpdateLensReview", &[missing, LENS_ALIAS]).body(json!({})),
        ),
        (
            v,
            req("UpgradeLensReview", &[&behind.id, CUSTOM_LENS]).body(json!({})),
        ),
        (
            nf,
            req("UpgradeLensReview", &[missing, LENS_ALIAS]).body(milestone("upgrade", "u")),
        ),
        (
            c,
            req("UpgradeLensReview", &[&w.id, LENS_ALIAS]).body(milestone("upgrade", "u")),
        ),
        (
            q,
            req("UpgradeLensReview", &[&full.id, CUSTOM_LENS]).body(milestone("upgrade", "u")),
        ),
        (
            v,
            req("AssociateLenses", &[&w.id]).body(json!({"LensAliases": []})),
        ),
        (
            nf,
            req("AssociateLenses", &[&w.id]).body(json!({"LensAliases": ["nope"]})),
        ),
        (
            v,
            req("DisassociateLenses", &[&w.id]).body(json!({"LensAliases": [LENS_ALIAS]})),
        ),
        (
            nf,
            req("DisassociateLenses", &[missing]).body(json!({"LensAliases": [CUSTOM_LENS]})),
        ),
        (v, req("ListLenses", &[]).query("?LensType=BOGUS")),
        (v, req("GetLens", &[&"x".repeat(129)])),
        (nf, req("GetLens", &["nope"])),
        (nf, req("GetLens", &[LENS_ALIAS]).query("?LensVersion=1999")),
        (v, create(json!({}))),
        (v, create(with("Environment", json!("STAGING")))),
        (nf, create(with("Lenses", json!(["nope"])))),
        (c, create(with("WorkloadName", json!("conf-errors")))),
        (
            v,
            req("CreateMilestone", &[&w.id]).body(milestone("ab", "t")),
        ),
        (
            nf,
            req("CreateMilestone", &[missing]).body(milestone("abc", "t")),
        ),
        (
            c,
            req("CreateMilestone", &[&full.id]).body(milestone("m-001", "other")),
        ),
        (
            q,
            req("CreateMilestone", &[&full.id]).body(milestone("m-100", "t100")),
        ),
        (
            v,
            req("ListMilestones", &[&w.id]).body(json!({"MaxResults": 51})),
        ),
        (nf, req("ListMilestones", &[missing]).body(json!({}))),
        (v, req("GetMilestone", &[&w.id, "0"])),
        (nf, req("GetMilestone", &[&w.id, "99"])),
        (
            v,
            req("ListNotifications", &[]).body(json!({"MaxResults": 0})),
        ),
    ];
    for (code, r) in more {
        assert_eq!(h.error(&r).await, code, "{r:?}");
        seen.push((r.op, code.to_string()));
    }

    // Injected faults, applied to one valid call of each operation.
    let calls = [
        list().body(json!({})),
        req("GetWorkload", &[&w.id]),
        answer_req("GetAnswer", &w.id),
        update().body(json!({"Notes": "n"})),
        req("ListTagsForResource", &[&w.arn]),
        req("TagResource", &[&w.arn]).body(json!({"Tags": {"a": "b"}})),
        req("UntagResource", &[&w.arn]).query("?tagKeys=a"),
        rename().body(json!({"Notes": "n"})),
        // Every fault below applies to `w`, so this never deletes it.
        req("DeleteWorkload", &[&w.id]).query(TOKEN),
        req("ListAnswers", &[&w.id, LENS_ALIAS]),
        req("ListLensReviews", &[&w.id]),
        req("GetLensReview", &[&w.id, LENS_ALIAS]),
        req("UpdateLensReview", &[&w.id, LENS_ALIAS]).body(json!({"LensNotes": "n"})),
        req("UpgradeLensReview", &[&w.id, LENS_ALIAS]).body(json!({"MilestoneName": "up-w"})),
        req("AssociateLenses", &[&w.id]).body(json!({"LensAliases": [LENS_ALIAS]})),
        req("DisassociateLenses", &[&w.id]).body(json!({"LensAliases": [CUSTOM_LENS]})),
        req("ListLenses", &[]),
        req("GetLens", &[LENS_ALIAS]),
        req("CreateMilestone", &[&w.id])
            .body(json!({"MilestoneName": "inj", "ClientRequestToken": "i"})),
        req("ListMilestones", &[&w.id]).body(json!({})),
        req("GetMilestone", &[&w.id, "1"]),
        req("ListNotifications", &[]).body(json!({})),
        create(with("ClientRequestToken", json!("injected"))),
    ];
    let deny_ops = [
        "ListWorkloads",
        "ListLenses",
        "GetLens",
        "ListNotifications",
        "CreateWorkload",
    ]
    .map(String::from)
    .into();
    let faults = [
        Faults {
            throttle_probability: 1.0,
            ..Faults::default()
        },
        Faults {
            error_probability: 1.0,
            ..Faults::default()
        },
        Faults {
            deny_workloads: [w.id.clone()].into(),
            deny_operations: deny_ops,
            ..Faults::default()
        },
        Faults {
            conflict_probability: 1.0,
            ..Faults::default()
        },
    ];
    for f in faults {
        h.sim.set_faults(f);
        for r in &calls {
            if h.send(r).await.0 != 200 {
                seen.push((r.op, h.error(r).await));
            }
        }
    }
    h.sim.set_faults(Faults {
        rate_limit_per_second: Some(1.0),
        ..Faults::default()
    });
    h.ok(list().body(json!({}))).await;
    assert_eq!(
        h.error(&list().body(json!({}))).await,
        "ThrottlingException"
    );

    // Every modelled error of every operation is reachable.
    for route in OPERATIONS {
        for e in h.m["operations"][route.name]["errors"].as_array().unwrap() {
            let code = str_of(e, "shape");
            let hit = seen.iter().any(|(op, c)| *op == route.name && c == code);
            let unreached = UNREACHED.contains(&(route.name, code));
            assert!(hit != unreached, "{} emitted {code}: {hit}", route.name);
        }
    }
}

/// Requests that match no operation of the model, whatever the method or path, get
/// the service's JSON error shape (a 404 UnknownOperationException naming the
/// request), never a bare 405 or an empty body.
#[tokio::test]
async fn unmatched_requests_get_a_json_unknown_operation_error() {
    let h = Harness::start().await;
    let w = h.add("conf-unknown", &[LENS_ALIAS], AnswerSpec::default());
    let arn = utf8_percent_encode(&w.arn, LABEL).to_string();
    let answer = format!(
        "/workloads/{}/lensReviews/{LENS_ALIAS}/answers/{QUESTION_ID}",
        w.id
    );
    let requests = [
        // Paths of implemented operations with another method (axum's 405 before).
        ("PUT", format!("/workloads/{}", w.id)),
        ("POST", format!("/workloads/{}", w.id)),
        ("PUT", format!("/tags/{arn}")),
        ("PATCH", format!("/tags/{arn}")),
        ("GET", "/workloadsSummaries".to_string()),
        ("DELETE", answer.clone()),
        ("POST", answer),
        ("PATCH", "/_sim/faults".to_string()),
        ("DELETE", "/lenses".to_string()),
        ("GET", "/workloads".to_string()),
        (
            "POST",
            format!("/workloads/{}/lensReviews/{LENS_ALIAS}", w.id),
        ),
        // No operation at all.
        ("GET", "/".to_string()),
        ("GET", "/workloads/x/unknown".to_string()),
    ];
    for (method, path) in requests {
        let url = format!("{}{path}", h.server.url());
        let response = h
            .http
            .request(method.parse().unwrap(), url)
            .send()
            .await
            .unwrap();
        let what = format!("{method} {path}");
        assert_eq!(response.status(), 404, "{what}");
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "application/json", "{what}");
        assert_eq!(
            headers["x-amzn-errortype"], "UnknownOperationException",
            "{what}"
        );
        assert!(headers.contains_key("x-amzn-requestid"), "{what}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["__type"], "UnknownOperationException", "{what}");
        let message = str_of(&body, "Message");
        assert!(
            message.contains(&format!("{method} /")),
            "{what}: {message}"
        );
    }
    assert_eq!(h.sim.calls().total, 0, "unknown operations are not counted");
}

/// The real SDK with every input member set: what it serializes must be understood.
#[tokio::test]
async fn sdk_requests_with_every_member_are_understood() {
    use aws_sdk_wellarchitected::types::{AnswerReason, ChoiceReason, ChoiceStatus, ChoiceUpdate};
    let h = Harness::start().await;
    let w = h.add("sdk-every-member", &[LENS_ALIAS], AnswerSpec::default());
    let credentials =
        aws_sdk_wellarchitected::config::Credentials::new("test", "test", None, None, "static");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        // The SDK crates carry no bundled client; the simulator speaks plain HTTP.
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .endpoint_url(h.server.url())
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    let client = aws_sdk_wellarchitected::Client::new(&config);

    let update = ChoiceUpdate::builder().status(ChoiceStatus::NotApplicable);
    let update = update
        .reason(ChoiceReason::ArchitectureConstraints)
        .notes("not for batch")
        .build();
    let call = client
        .update_answer()
        .workload_id(&w.id)
        .lens_alias(LENS_ALIAS);
    let call = call
        .question_id(QUESTION_ID)
        .selected_choices(CHOICE_IDEMPOTENT);
    let call = call
        .choice_updates(CHOICE_CONSTANT_WORK, update)
        .notes("answer notes");
    let out = call
        .is_applicable(true)
        .reason(AnswerReason::Other)
        .send()
        .await;
    let out = out.expect("UpdateAnswer with every member");
    let a = out.answer().unwrap();
    assert_eq!(a.selected_choices(), [CHOICE_IDEMPOTENT]);
    assert_eq!(a.reason(), Some(&AnswerReason::Other));
    let cw = a
        .choice_answers()
        .iter()
        .find(|c| c.choice_id() == Some(CHOICE_CONSTANT_WORK))
        .unwrap();
    assert_eq!(cw.reason(), Some(&ChoiceReason::ArchitectureConstraints));
    assert_eq!(cw.notes(), Some("not for batch"));

    let list = client
        .list_workloads()
        .workload_name_prefix("workload-000")
        .max_results(5);
    let first = list
        .clone()
        .send()
        .await
        .expect("ListWorkloads with every member");
    let token = first.next_token().map(String::from);
    let second = list
        .set_next_token(token)
        .send()
        .await
        .expect("ListWorkloads, NextToken");
    assert_eq!(first.workload_summaries().len(), 5);
    assert_eq!(second.workload_summaries().len(), 4);
    assert!(second.next_token().is_none());

    let get = client
        .get_answer()
        .workload_id(&w.id)
        .lens_alias(LENS_ALIAS);
    let err = get
        .question_id(QUESTION_ID)
        .milestone_number(3)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_resource_not_found_exception());

    use aws_sdk_wellarchitected::types::{
        WorkloadEnvironment, WorkloadImprovementStatus, WorkloadIssueManagementStatus,
        WorkloadJiraConfigurationInput,
    };
    let jira = WorkloadJiraConfigurationInput::builder()
        .issue_management_status(WorkloadIssueManagementStatus::Disabled)
        .build();
    let update = client.update_workload().workload_id(&w.id);
    let update = update
        .workload_name("sdk-renamed")
        .description("every member");
    let update = update
        .environment(WorkloadEnvironment::Preproduction)
        .account_ids("111122223333");
    let update = update
        .aws_regions("us-east-1")
        .non_aws_regions("on-prem")
        .pillar_priorities("reliability");
    let update = update
        .architectural_design("https://example.com/design")
        .review_owner("sre-team");
    let update = update
        .is_review_owner_update_acknowledged(true)
        .industry_type("InfoTech");
    let update = update
        .industry("Software")
        .notes("workload notes")
        .jira_configuration(jira);
    let out = update
        .improvement_status(WorkloadImprovementStatus::Complete)
        .send()
        .await;
    let workload = out
        .expect("UpdateWorkload with every member")
        .workload
        .unwrap();
    assert_eq!(workload.workload_name(), Some("sdk-renamed"));
    assert_eq!(workload.review_owner(), Some("sre-team"));
    assert_eq!(
        workload.improvement_status(),
        Some(&WorkloadImprovementStatus::Complete)
    );
}
