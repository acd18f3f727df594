//! What a `$.path` term looks into: the workload as last described, in
//! Guardrails' resource shape.

/// The JSON a `$.path` term looks into: the workload as last described
/// (`details.resource`, AWS's field names) with Guardrails' `turbot` block
/// (`id`, `title`, `akas`, `tags`) beside it.
pub fn resource_value(
    workload_id: &str,
    workload_name: &str,
    workload_arn: &str,
    details: &serde_json::Value,
) -> serde_json::Value {
    let data = details.get("resource").cloned().unwrap_or_default();
    let tags = data
        .get("Tags")
        .or_else(|| details.get("policy_tags"))
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    let mut value = match data {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    value.insert(
        "turbot".to_owned(),
        serde_json::json!({
            "id": workload_id,
            "title": workload_name,
            "akas": [workload_arn],
            "tags": tags,
        }),
    );
    serde_json::Value::Object(value)
}

/// The strings at `path` in `root` (each element, for an array); numbers and
/// booleans as their JSON text.
pub fn strings_at(root: &serde_json::Value, path: &[String]) -> Vec<String> {
    let found = path.iter().try_fold(root, |at, key| at.get(key.as_str()));
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(_) | serde_json::Value::Bool(_) => Some(v.to_string()),
        _ => None,
    };
    match found {
        Some(serde_json::Value::Array(items)) => items.iter().filter_map(text).collect(),
        Some(v) => text(v).into_iter().collect(),
        None => Vec::new(),
    }
}
