//! Lens reviews and lenses: ListLensReviews, GetLensReview, UpdateLensReview,
//! UpgradeLensReview, AssociateLenses, DisassociateLenses.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::answers::{lens_key, max_results, milestone_number, review_target};
use super::api::{call, json_bytes, parse_body};
use super::catalog::LensDef;
use super::errors::ApiError;
use super::lens::LENS_ALIAS;
use super::milestones::{at_milestone, milestone_name, record_milestone};
use super::paging::page_after;
use super::sim::Simulator;
use super::stats::Op;
use super::store::{Store, Workload};
use super::wire::RiskCounts;
use super::workloads::{check_workload_id, find, query_values};

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LensReviewSummaryOut<'a> {
    lens_alias: &'a str,
    lens_arn: String,
    lens_version: &'a str,
    lens_name: &'a str,
    lens_status: &'static str,
    updated_at: f64,
    risk_counts: RiskCounts,
}

impl<'a> LensReviewSummaryOut<'a> {
    fn new(w: &'a Workload, lens: &'a LensDef) -> Self {
        let review = w.review(&lens.alias);
        Self {
            lens_alias: &lens.alias,
            lens_arn: lens.arn(&w.region),
            lens_version: review.version(lens),
            lens_name: &lens.name,
            lens_status: review.status,
            updated_at: w.updated_at,
            risk_counts: lens_risks(w, lens, None),
        }
    }
}

fn lens_risks(w: &Workload, lens: &LensDef, pillar: Option<&str>) -> RiskCounts {
    RiskCounts::of(
        w,
        lens.questions()
            .filter(|(p, _)| pillar.is_none_or(|id| p.id == id))
            .map(|(_, q)| (lens.alias.as_str(), q)),
    )
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListLensReviewsOut<'a> {
    workload_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    milestone_number: Option<u32>,
    lens_review_summaries: Vec<LensReviewSummaryOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// The workload's lenses in its own order; lenses the simulator has no content
/// for are left out (it cannot describe them).
pub(super) async fn list_lens_reviews(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    call(&sim, Op::ListLensReviews, Some(&id), |inner| {
        let query = query.as_deref();
        let milestone = milestone_number(query)?;
        let limit = max_results(query)?;
        check_workload_id(&id)?;
        let store = inner.read();
        let w = at_milestone(find(&store, &id)?, milestone)?;
        let lenses: Vec<&LensDef> = w.lenses.iter().filter_map(|k| store.lens(k)).collect();
        let token = query_values(query, "NextToken").next();
        let (page, next_token) = page_after(&lenses, token.as_deref(), limit, |l| &l.alias)?;
        Ok(json_bytes(&ListLensReviewsOut {
            workload_id: &w.id,
            milestone_number: milestone,
            lens_review_summaries: page
                .iter()
                .map(|l| LensReviewSummaryOut::new(w, l))
                .collect(),
            next_token,
        }))
    })
    .await
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PillarReviewSummaryOut<'a> {
    pillar_id: &'a str,
    pillar_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<&'a str>,
    risk_counts: RiskCounts,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LensReviewOut<'a> {
    #[serde(flatten)]
    summary: LensReviewSummaryOut<'a>,
    pillar_review_summaries: Vec<PillarReviewSummaryOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<String>,
}

/// GetLensReviewOutput and UpdateLensReviewOutput.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LensReviewEnvelope<'a> {
    workload_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    milestone_number: Option<u32>,
    lens_review: LensReviewOut<'a>,
}

fn lens_review<'a>(w: &'a Workload, lens: &'a LensDef, milestone: Option<u32>) -> Vec<u8> {
    let review = w.review(&lens.alias);
    let pillars = lens
        .pillars
        .iter()
        .map(|p| PillarReviewSummaryOut {
            pillar_id: &p.id,
            pillar_name: &p.name,
            notes: w
                .reviews
                .get(&lens.alias)
                .and_then(|r| r.pillar_notes.get(&p.id))
                .map(String::as_str),
            risk_counts: lens_risks(w, lens, Some(&p.id)),
        })
        .collect();
    json_bytes(&LensReviewEnvelope {
        workload_id: &w.id,
        milestone_number: milestone,
        lens_review: LensReviewOut {
            summary: LensReviewSummaryOut::new(w, lens),
            pillar_review_summaries: pillars,
            notes: review.notes.clone(),
        },
    })
}

pub(super) async fn get_lens_review(
    State(sim): State<Simulator>,
    Path((id, lens)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    call(&sim, Op::GetLensReview, Some(&id), |inner| {
        let milestone = milestone_number(query.as_deref())?;
        let store = inner.read();
        let (w, lens) = review_target(&store, &id, &lens, milestone)?;
        Ok(lens_review(w, lens, milestone))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct UpdateLensReviewIn {
    lens_notes: Option<String>,
    pillar_notes: Option<BTreeMap<String, String>>,
    #[allow(dead_code)] // type-checked, not kept
    jira_configuration: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Keeps `LensNotes` and `PillarNotes` (each ≤ 2084 chars; a pillar the lens does not
/// have is a 400).
pub(super) async fn update_lens_review(
    State(sim): State<Simulator>,
    Path((id, lens)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    call(&sim, Op::UpdateLensReview, Some(&id), |inner| {
        let req: UpdateLensReviewIn = parse_body(&body)?;
        let mut store = inner.write();
        let key = review_target(&store, &id, &lens, None)?.1.alias.clone();
        let pillars = &store.lens(&key).expect("found above").pillars;
        let too_long = |n: &String| n.chars().count() > 2084;
        if req.lens_notes.as_ref().is_some_and(too_long) {
            return Err(ApiError::field(
                "LensNotes",
                "LensNotes exceeds 2084 characters",
            ));
        }
        for (pillar, notes) in req.pillar_notes.iter().flatten() {
            if !pillars.iter().any(|p| &p.id == pillar) {
                return Err(ApiError::field(
                    "PillarNotes",
                    format!("Lens {lens} has no pillar {pillar}"),
                ));
            }
            if too_long(notes) {
                return Err(ApiError::field(
                    "PillarNotes",
                    "PillarNotes exceeds 2084 characters",
                ));
            }
        }
        let w = store.get_mut(&id).expect("found above under the same lock");
        let review = w.reviews.entry(key.clone()).or_default();
        if let Some(notes) = req.lens_notes {
            review.notes = Some(notes);
        }
        review
            .pillar_notes
            .extend(req.pillar_notes.unwrap_or_default());
        w.touch();
        let (w, lens) = review_target(&store, &id, &key, None)?;
        Ok(lens_review(w, lens, None))
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct UpgradeLensReviewIn {
    milestone_name: Option<String>,
    client_request_token: Option<String>,
}

/// Brings a NOT_CURRENT or DEPRECATED review to the lens's current version (status
/// CURRENT), first saving the workload as milestone `MilestoneName`, as the Tool
/// does. A review with nothing to upgrade to (CURRENT, DELETED, UNSHARED) is a 409.
pub(super) async fn upgrade_lens_review(
    State(sim): State<Simulator>,
    Path((id, lens)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    call(&sim, Op::UpgradeLensReview, Some(&id), |inner| {
        let req: UpgradeLensReviewIn = parse_body(&body)?;
        let name = milestone_name(req.milestone_name)?;
        let mut store = inner.write();
        let key = review_target(&store, &id, &lens, None)?.1.alias.clone();
        let w = store.get_mut(&id).expect("found above under the same lock");
        let status = w.review(&key).status;
        if !matches!(status, "NOT_CURRENT" | "DEPRECATED") {
            return Err(ApiError::Conflict {
                message: format!("The review of lens {lens} is {status}: there is no upgrade"),
                resource_id: id.clone(),
            });
        }
        let token = req
            .client_request_token
            .unwrap_or_else(|| format!("upgrade-{key}-{}", w.milestones.len()));
        record_milestone(w, name, token)?;
        w.reviews.entry(key).or_default().status = "CURRENT";
        w.touch();
        Ok(Vec::new())
    })
    .await
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct LensAliasesIn {
    lens_aliases: Option<Vec<String>>,
}

/// The lens keys of an Associate/DisassociateLenses body: at least one, each a lens
/// the simulator knows (an unknown one is a 404 LENS).
fn requested_lenses(store: &Store, region: &str, body: &[u8]) -> Result<Vec<String>, ApiError> {
    let req: LensAliasesIn = parse_body(body)?;
    let aliases = req
        .lens_aliases
        .filter(|a| !a.is_empty())
        .ok_or_else(|| ApiError::field("LensAliases", "LensAliases needs at least one lens"))?;
    aliases
        .iter()
        .map(|label| {
            let key = lens_key(label, region)?;
            store.lens(key).map(|l| l.alias.clone()).ok_or_else(|| {
                ApiError::not_found("LENS", label, format!("[ResourceNotFound] No lens {label}"))
            })
        })
        .collect()
}

pub(super) async fn associate_lenses(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    call(&sim, Op::AssociateLenses, Some(&id), |inner| {
        check_workload_id(&id)?;
        let mut store = inner.write();
        find(&store, &id)?;
        let keys = requested_lenses(&store, &inner.region, &body)?;
        let w = store.get_mut(&id).expect("found above under the same lock");
        let mut changed = false;
        for key in keys {
            if !w.has_lens(&key) {
                w.lenses.push(key);
                changed = true;
            }
        }
        if changed {
            w.touch();
        }
        Ok(Vec::new())
    })
    .await
}

/// The `wellarchitected` lens cannot be disassociated (API reference). A removed
/// lens's review and answers go with it: associating it again starts afresh.
pub(super) async fn disassociate_lenses(
    State(sim): State<Simulator>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    call(&sim, Op::DisassociateLenses, Some(&id), |inner| {
        check_workload_id(&id)?;
        let mut store = inner.write();
        find(&store, &id)?;
        let keys = requested_lenses(&store, &inner.region, &body)?;
        if keys.iter().any(|k| k == LENS_ALIAS) {
            return Err(ApiError::field(
                "LensAliases",
                "The wellarchitected lens cannot be disassociated from a workload",
            ));
        }
        let w = store.get_mut(&id).expect("found above under the same lock");
        let before = w.lenses.len();
        w.lenses.retain(|l| !keys.contains(l));
        w.reviews.retain(|l, _| !keys.contains(l));
        w.answers.retain(|(l, _), _| !keys.contains(l));
        if w.lenses.len() != before {
            w.touch();
        }
        Ok(Vec::new())
    })
    .await
}
