//! Security Hub findings as moto stored them (raw JSON, as they went over the
//! wire), checked against botocore's model of Security Hub
//! (`securityhub/2018-10-26/service-2.json.gz`), read from
//! `$REL04D_SECURITYHUB_MODEL` (set by `scripts/services.sh`'s `install_python`).

use std::io::Read;

use serde_json::{Value, json};

/// botocore's Security Hub model.
pub fn model() -> Value {
    let path = std::env::var("REL04D_SECURITYHUB_MODEL").expect(
        "REL04D_SECURITYHUB_MODEL is not set: run scripts/test.sh (install_python sets it)",
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("{path} is not gzip text: {e}"));
    serde_json::from_str(&text).expect("the model is JSON")
}

/// Every way `value` departs from shape `shape` of `model`: unknown members,
/// missing required ones, wrong JSON types, values outside an enum, lengths and
/// patterns. Empty when it conforms.
pub fn violations(model: &Value, shape: &str, value: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(model, shape, value, shape, &mut found);
    found
}

fn walk(model: &Value, shape: &str, value: &Value, at: &str, found: &mut Vec<String>) {
    let spec = &model["shapes"][shape];
    let mut report = |what: String| found.push(format!("{at}: {what} ({shape})"));
    let kind = spec["type"].as_str().unwrap_or("?");
    match (kind, value) {
        ("structure", Value::Object(members)) => {
            for required in spec["required"].as_array().into_iter().flatten() {
                let name = required.as_str().unwrap();
                if !members.contains_key(name) {
                    report(format!("required member {name} is missing"));
                }
            }
            for (name, member) in members {
                match spec["members"][name]["shape"].as_str() {
                    Some(inner) => walk(model, inner, member, &format!("{at}.{name}"), found),
                    None => found.push(format!("{at}.{name}: not a member of {shape}")),
                }
            }
        }
        ("list", Value::Array(items)) => {
            let inner = spec["member"]["shape"].as_str().unwrap();
            for (i, item) in items.iter().enumerate() {
                walk(model, inner, item, &format!("{at}[{i}]"), found);
            }
        }
        ("map", Value::Object(entries)) => {
            let key_shape = spec["key"]["shape"].as_str().unwrap();
            let value_shape = spec["value"]["shape"].as_str().unwrap();
            for (key, entry) in entries {
                walk(model, key_shape, &json!(key), &format!("{at}<key>"), found);
                walk(model, value_shape, entry, &format!("{at}[{key}]"), found);
            }
        }
        ("string", Value::String(text)) => {
            if let Some(allowed) = spec["enum"].as_array()
                && !allowed.iter().any(|a| a == text)
            {
                report(format!("{text:?} is not one of {allowed:?}"));
            }
            let chars = text.chars().count() as i64;
            if spec["min"].as_i64().is_some_and(|min| chars < min)
                || spec["max"].as_i64().is_some_and(|max| chars > max)
            {
                report(format!("length {chars} outside the model's bounds"));
            }
            if let Some(pattern) = spec["pattern"].as_str() {
                let anchored = regex::Regex::new(&format!("^(?s:{pattern})$")).unwrap();
                if !anchored.is_match(text) {
                    report(format!("{text:?} does not match {pattern}"));
                }
            }
        }
        ("boolean", Value::Bool(_)) => {}
        ("integer" | "long", Value::Number(n)) if n.is_i64() => {}
        ("double" | "float", Value::Number(_)) => {}
        _ => report(format!("a {kind} was expected, got {value}")),
    }
}

/// Every finding in moto's Security Hub for the test credentials' account and
/// region, as raw JSON (GetFindings over HTTP, every page).
pub async fn all_findings(moto_url: &str) -> Vec<Value> {
    let client = reqwest::Client::new();
    let mut findings = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"MaxResults": 100});
        if let Some(token) = &token {
            body["NextToken"] = json!(token);
        }
        let response: Value = client
            .post(format!("{moto_url}/findings"))
            // moto picks the service from the credential scope.
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/securityhub/aws4_request, \
                 SignedHeaders=host, Signature=0",
            )
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        findings.extend(response["Findings"].as_array().cloned().unwrap_or_default());
        match response["NextToken"].as_str() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => return findings,
        }
    }
}

/// The findings of the workloads `arns` (moto is shared by every test).
pub async fn findings_of(moto_url: &str, arns: &[String]) -> Vec<Value> {
    all_findings(moto_url)
        .await
        .into_iter()
        .filter(|f| {
            f["Resources"][0]["Id"]
                .as_str()
                .is_some_and(|id| arns.iter().any(|a| a == id))
        })
        .collect()
}
