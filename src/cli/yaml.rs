//! JSON values as block-style YAML, for `rel04d graphql --format yaml`.
//!
//! Output only, so no YAML library: every string is written double-quoted with
//! JSON escapes (a valid YAML double-quoted scalar), so no value can be read
//! back as another type (`no`, `1e3`, `null`).

use std::fmt::Write;

use serde_json::Value;

pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Array(items) if !items.is_empty() => sequence(&mut out, items, 0),
        Value::Object(map) if !map.is_empty() => mapping(&mut out, map, 0),
        scalar => {
            let _ = writeln!(out, "{}", inline(scalar));
        }
    }
    out
}

/// A scalar or an empty collection, on one line.
fn inline(value: &Value) -> String {
    match value {
        Value::Array(_) => "[]".to_owned(),
        Value::Object(_) => "{}".to_owned(),
        // serde_json's string form is a valid YAML double-quoted scalar.
        other => other.to_string(),
    }
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        _ => false,
    }
}

fn mapping(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    for (key, value) in map {
        let key = Value::from(key.as_str()).to_string();
        if is_block(value) {
            let _ = writeln!(out, "{:indent$}{key}:", "");
            block(out, value, indent + 2);
        } else {
            let _ = writeln!(out, "{:indent$}{key}: {}", "", inline(value));
        }
    }
}

fn sequence(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        if is_block(item) {
            let _ = writeln!(out, "{:indent$}-", "");
            block(out, item, indent + 2);
        } else {
            let _ = writeln!(out, "{:indent$}- {}", "", inline(item));
        }
    }
}

fn block(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Array(items) => sequence(out, items, indent),
        Value::Object(map) => mapping(out, map, indent),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_values_become_block_yaml_with_quoted_strings() {
        let value = json!([
            { "state": "ok", "n": 2, "tags": {}, "akas": ["arn:x"], "no": "no" },
            "plain"
        ]);
        assert_eq!(
            to_yaml(&value),
            "-\n  \"akas\":\n    - \"arn:x\"\n  \"n\": 2\n  \"no\": \"no\"\n  \"state\": \"ok\"\n  \"tags\": {}\n- \"plain\"\n"
        );
        assert_eq!(to_yaml(&json!([])), "[]\n");
    }
}
