//! GetAnswer, UpdateAnswer and ListAnswers, and which lens a `LensAlias` path label names.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::api::{DEFAULT_PAGE_SIZE, call, json_bytes, parse_body};
use super::catalog::{LensDef, PillarDef, QuestionDef};
use super::errors::ApiError;
use super::milestones::at_milestone;
use super::paging::page_after;
use super::sim::Simulator;
use super::stats::Op;
use super::store::{Store, Workload};
use super::update;
use super::wire::{AnswerEnvelope, AnswerSummaryOut, AnswerView, ListAnswersOut, UpdateAnswerIn};
use super::workloads::{check_workload_id, find, query_values};

/// The lens a `LensAlias` label names, as the workload's lens list spells it.
///
/// The API reference: an AWS official lens is named by its alias (`serverless`) or
/// its ARN `arn:aws:wellarchitected:<region>::lens/<alias>` (no account id); a custom
/// lens by its ARN, which has an account id. So an official-lens ARN of another
/// region names no lens here, and an ARN with an account id is a custom lens, never
/// the official one of the same name.
pub(super) fn lens_key<'a>(label: &'a str, region: &str) -> Result<&'a str, ApiError> {
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

/// The workload (or its milestone) and the lens a path names: 404 LENS_REVIEW when
/// the workload does not list the lens (the lens review does not exist).
pub(super) fn review_target<'a>(
    store: &'a Store,
    id: &str,
    lens: &str,
    milestone: Option<u32>,
) -> Result<(&'a Workload, &'a LensDef), ApiError> {
    check_workload_id(id)?;
    let w = at_milestone(find(store, id)?, milestone)?;
    let key = lens_key(lens, &w.region)?;
    let lens_def = store.lens(key).filter(|_| w.has_lens(key));
    lens_def.map(|l| (w, l)).ok_or_else(|| {
        ApiError::not_found(
            "LENS_REVIEW",
            lens,
            format!("[ResourceNotFound] Lens {lens} is not associated with workload {id}"),
        )
    })
}

/// Finds the workload and checks that it has the lens and the lens has the question.
fn answer_target<'a>(
    store: &'a Store,
    id: &str,
    lens: &str,
    question: &str,
    milestone: Option<u32>,
) -> Result<(&'a Workload, &'a LensDef, &'a PillarDef, &'a QuestionDef), ApiError> {
    let (w, lens_def) = review_target(store, id, lens, milestone)?;
    let (pillar, q) = lens_def.question(question).ok_or_else(|| {
        ApiError::not_found(
            "QUESTION",
            question,
            format!("[ResourceNotFound] No question {question} in lens {lens}"),
        )
    })?;
    Ok((w, lens_def, pillar, q))
}

/// GetAnswer's (and UpdateAnswer's) body for one question of one workload.
fn answer_json(
    store: &Store,
    id: &str,
    lens: &str,
    question: &str,
    milestone: Option<u32>,
) -> Result<Vec<u8>, ApiError> {
    let (w, lens, pillar, question) = answer_target(store, id, lens, question, milestone)?;
    let answer = w.answer(&lens.alias, question);
    let view = AnswerView {
        workload: w,
        lens,
        pillar,
        question,
        answer: &answer,
    };
    Ok(json_bytes(&AnswerEnvelope::new(&view, milestone)))
}

pub(super) async fn get_answer(
    State(sim): State<Simulator>,
    Path((id, lens, question)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    call(&sim, Op::GetAnswer, Some(&id), |inner| {
        let milestone = milestone_number(query.as_deref())?;
        answer_json(&inner.read(), &id, &lens, &question, milestone)
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
        let (key, next) = {
            let (w, lens, _, q) = answer_target(&store, &id, &lens, &question, None)?;
            let current = w.answer(&lens.alias, q);
            let next = update::apply(q, &current, &req)?;
            let key = (lens.alias.clone(), q.id.clone());
            (key, (*current != next).then_some(next))
        };
        if let Some(next) = next {
            let w = store.get_mut(&id).expect("found above under the same lock");
            w.answers.insert(key.clone(), next);
            w.touch();
        }
        answer_json(&store, &id, &key.0, &key.1, None)
    })
    .await
}

/// ListAnswers: the questions of one lens (of one pillar with `PillarId`), paged in
/// the lens's order; `NextToken` carries the last question id of the page.
pub(super) async fn list_answers(
    State(sim): State<Simulator>,
    Path((id, lens)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    call(&sim, Op::ListAnswers, Some(&id), |inner| {
        let query = query.as_deref();
        let milestone = milestone_number(query)?;
        let limit = max_results(query)?;
        let pillar = query_values(query, "PillarId").next();
        let priority = query_values(query, "QuestionPriority").next();
        if let Some(p) = priority
            .as_deref()
            .filter(|p| !["PRIORITIZED", "NONE"].contains(p))
        {
            return Err(ApiError::field(
                "QuestionPriority",
                format!("QuestionPriority {p} is not PRIORITIZED or NONE"),
            ));
        }
        let store = inner.read();
        let (w, lens_def) = review_target(&store, &id, &lens, milestone)?;
        if let Some(p) = pillar
            .as_deref()
            .filter(|p| !lens_def.pillars.iter().any(|x| x.id == *p))
        {
            return Err(ApiError::field(
                "PillarId",
                format!("Lens {lens} has no pillar {p}"),
            ));
        }
        let questions: Vec<(&PillarDef, &QuestionDef)> = lens_def
            .questions()
            .filter(|(p, _)| pillar.as_deref().is_none_or(|want| p.id == want))
            .collect();
        let token = query_values(query, "NextToken").next();
        let (page, next_token) = page_after(&questions, token.as_deref(), limit, |(_, q)| &q.id)?;
        let answers: Vec<_> = page
            .iter()
            .map(|(_, q)| w.answer(&lens_def.alias, q))
            .collect();
        Ok(json_bytes(&ListAnswersOut {
            workload_id: &w.id,
            milestone_number: milestone,
            lens_alias: &lens_def.alias,
            lens_arn: lens_def.arn(&w.region),
            answer_summaries: page
                .iter()
                .zip(&answers)
                .map(|((p, q), a)| AnswerSummaryOut::new(p, q, a))
                .collect(),
            next_token,
        }))
    })
    .await
}

/// The `MaxResults` query parameter: 1-50, default 50.
pub(super) fn max_results(query: Option<&str>) -> Result<usize, ApiError> {
    match query_values(query, "MaxResults").next() {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) => match n.parse::<usize>() {
            Ok(n @ 1..=50) => Ok(n),
            _ => Err(ApiError::field(
                "MaxResults",
                format!("MaxResults {n} must be between 1 and 50"),
            )),
        },
    }
}

/// The `MilestoneNumber` query parameter (1-100).
pub(super) fn milestone_number(query: Option<&str>) -> Result<Option<u32>, ApiError> {
    query_values(query, "MilestoneNumber")
        .next()
        .map(|m| match m.parse::<u32>() {
            Ok(n @ 1..=100) => Ok(n),
            _ => Err(ApiError::field(
                "MilestoneNumber",
                format!("MilestoneNumber {m} must be between 1 and 100"),
            )),
        })
        .transpose()
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
