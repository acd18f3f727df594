//! GetAnswer and UpdateAnswer, and which lens a `LensAlias` path label names.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::api::{call, json_bytes, parse_body};
use super::errors::ApiError;
use super::lens::{LENS_ALIAS, QUESTION_ID};
use super::sim::Simulator;
use super::stats::Op;
use super::store::{Store, Workload};
use super::update;
use super::wire::{AnswerEnvelope, UpdateAnswerIn};
use super::workloads::{check_workload_id, find, query_values};

/// The lens a `LensAlias` label names, as the workload's lens list spells it.
///
/// The API reference: an AWS official lens is named by its alias (`serverless`) or
/// its ARN `arn:aws:wellarchitected:<region>::lens/<alias>` (no account id); a custom
/// lens by its ARN, which has an account id. So an official-lens ARN of another
/// region names no lens here, and an ARN with an account id is a custom lens, never
/// the official one of the same name.
fn lens_key<'a>(label: &'a str, region: &str) -> Result<&'a str, ApiError> {
    if label.is_empty() || label.chars().count() > 128 {
        return Err(ApiError::field(
            "LensAlias",
            "LensAlias must be 1-128 characters",
        ));
    }
    let Some(arn) = label.strip_prefix("arn:") else {
        return Ok(label);
    };
    let parts: Vec<&str> = arn.splitn(5, ':').collect();
    match parts[..] {
        ["aws", "wellarchitected", r, "", resource] if r == region => resource
            .strip_prefix("lens/")
            .filter(|alias| !alias.is_empty())
            .ok_or_else(|| no_lens(label, region)),
        ["aws", "wellarchitected", r, account, resource]
            if r == region
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.starts_with("lens/") =>
        {
            Ok(label)
        }
        _ => Err(no_lens(label, region)),
    }
}

fn no_lens(label: &str, region: &str) -> ApiError {
    ApiError::not_found(
        "LENS_REVIEW",
        label,
        format!("[ResourceNotFound] Lens ARN {label} names no lens in region {region}"),
    )
}

/// Finds the workload and checks that it has the lens and the lens has the question.
/// A lens that is not applied to the workload is a 404 (ResourceType LENS_REVIEW):
/// the lens review does not exist.
fn answer_target<'a>(
    store: &'a Store,
    id: &str,
    lens: &str,
    question: &str,
) -> Result<&'a Workload, ApiError> {
    check_workload_id(id)?;
    let w = find(store, id)?;
    let key = lens_key(lens, &w.region)?;
    if !w.has_lens(key) {
        return Err(ApiError::not_found(
            "LENS_REVIEW",
            lens,
            format!("[ResourceNotFound] Lens {lens} is not associated with workload {id}"),
        ));
    }
    if key != LENS_ALIAS || question != QUESTION_ID {
        return Err(ApiError::not_found(
            "QUESTION",
            question,
            format!("[ResourceNotFound] No question {question} in lens {lens}"),
        ));
    }
    Ok(w)
}

pub(super) async fn get_answer(
    State(sim): State<Simulator>,
    Path((id, lens, question)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    call(&sim, Op::GetAnswer, Some(&id), |inner| {
        let milestone = query_values(query.as_deref(), "MilestoneNumber").next();
        let store = inner.read();
        let w = answer_target(&store, &id, &lens, &question)?;
        if let Some(m) = milestone {
            return Err(match m.parse::<u32>() {
                Ok(1..=100) => ApiError::not_found(
                    "MILESTONE",
                    &m,
                    format!("[ResourceNotFound] No milestone {m} for workload {id}"),
                ),
                _ => ApiError::field(
                    "MilestoneNumber",
                    format!("MilestoneNumber {m} must be between 1 and 100"),
                ),
            });
        }
        Ok(json_bytes(&AnswerEnvelope::new(w)))
    })
    .await
}

pub(super) async fn update_answer(
    State(sim): State<Simulator>,
    Path((id, lens, question)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    call(&sim, Op::UpdateAnswer, Some(&id), |inner| {
        let req: UpdateAnswerIn = parse_body(&body)?;
        let mut store = inner.write();
        let next = update::apply(&answer_target(&store, &id, &lens, &question)?.answer, &req)?;
        let w = store.get_mut(&id).expect("found above under the same lock");
        if w.answer != next {
            w.answer = next;
            w.touch();
        }
        Ok(json_bytes(&AnswerEnvelope::new(w)))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lens_labels_name_official_lenses_of_this_region_only() {
        fn key(label: &str) -> Result<&str, &'static str> {
            lens_key(label, "us-east-1").map_err(|e| e.code())
        }
        assert_eq!(key("wellarchitected"), Ok("wellarchitected"));
        let official = "arn:aws:wellarchitected:us-east-1::lens/wellarchitected";
        assert_eq!(key(official), Ok("wellarchitected"));
        // A custom lens ARN stays whole: it can only match a custom lens.
        let custom = "arn:aws:wellarchitected:us-east-1:123456789012:lens/wellarchitected";
        assert_eq!(key(custom), Ok(custom));
        let not_found = Err("ResourceNotFoundException");
        for other in [
            "arn:aws:wellarchitected:eu-west-1::lens/wellarchitected",
            "arn:aws:wellarchitected:us-east-1::lens/",
            "arn:aws:wellarchitected:us-east-1:12345:lens/wellarchitected",
            "arn:aws:s3:us-east-1::lens/wellarchitected",
            "arn:aws:wellarchitected:us-east-1::workload/wellarchitected",
        ] {
            assert_eq!(key(other), not_found, "{other}");
        }
        assert_eq!(key(&"x".repeat(129)), Err("ValidationException"));
    }
}
