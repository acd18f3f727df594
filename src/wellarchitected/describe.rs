//! A described workload as JSON with AWS's own field names (`WorkloadName`,
//! `Environment`, `Tags`, …), the shape Guardrails keeps as a resource's `data`
//! and calculated policies read as `$.resource.data`.
//!
//! The SDK's types do not serialise, so the fields are listed here; absent
//! fields are left out, as in the Tool's response.

use aws_sdk_wellarchitected::types as wa;
use serde_json::{Map, Value, json};

pub fn workload_data(w: &wa::Workload) -> Value {
    let mut data = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            data.insert(key.to_owned(), value);
        }
    };
    let text = |s: Option<&str>| s.map(|s| Value::from(s.to_owned()));
    let list = |items: &[String]| (!items.is_empty()).then(|| json!(items));
    put("WorkloadId", text(w.workload_id()));
    put("WorkloadArn", text(w.workload_arn()));
    put("WorkloadName", text(w.workload_name()));
    put("Description", text(w.description()));
    put("Environment", w.environment().map(|e| e.as_str().into()));
    put("UpdatedAt", w.updated_at().map(|t| t.to_string().into()));
    put("AccountIds", list(w.account_ids()));
    put("AwsRegions", list(w.aws_regions()));
    put("NonAwsRegions", list(w.non_aws_regions()));
    put("ArchitecturalDesign", text(w.architectural_design()));
    put("ReviewOwner", text(w.review_owner()));
    put("IndustryType", text(w.industry_type()));
    put("Industry", text(w.industry()));
    put("Notes", text(w.notes()));
    put(
        "ImprovementStatus",
        w.improvement_status().map(|s| s.as_str().into()),
    );
    put("PillarPriorities", list(w.pillar_priorities()));
    put("Lenses", list(w.lenses()));
    put("Owner", text(w.owner()));
    put("Applications", list(w.applications()));
    put(
        "RiskCounts",
        w.risk_counts().map(|counts| {
            counts
                .iter()
                .map(|(risk, n)| (risk.as_str().to_owned(), Value::from(*n)))
                .collect::<Map<_, _>>()
                .into()
        }),
    );
    put(
        "Tags",
        Some(
            w.tags()
                .map(|tags| {
                    tags.iter()
                        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
                        .collect::<Map<_, _>>()
                })
                .unwrap_or_default()
                .into(),
        ),
    );
    Value::Object(data)
}
