//! The lens catalog's operations: ListLenses and GetLens.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use serde::Serialize;

use super::answers::{lens_key, max_results};
use super::api::{call, json_bytes};
use super::catalog::LensDef;
use super::errors::ApiError;
use super::paging::page_after;
use super::sim::Simulator;
use super::stats::Op;
use super::workloads::query_values;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LensSummaryOut<'a> {
    lens_arn: String,
    lens_alias: &'a str,
    lens_name: &'a str,
    lens_type: &'static str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    lens_version: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
    lens_status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListLensesOut<'a> {
    lens_summaries: Vec<LensSummaryOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// `LensType` and `LensName` (a prefix) filter; `LensStatus` (ALL, DRAFT, PUBLISHED)
/// is checked and every simulated lens is PUBLISHED.
pub(super) async fn list_lenses(
    State(sim): State<Simulator>,
    RawQuery(query): RawQuery,
) -> Response {
    call(&sim, Op::ListLenses, None, |inner| {
        let query = query.as_deref();
        let limit = max_results(query)?;
        let lens_type = query_values(query, "LensType").next();
        if let Some(t) = lens_type
            .as_deref()
            .filter(|t| !["AWS_OFFICIAL", "CUSTOM_SHARED", "CUSTOM_SELF"].contains(t))
        {
            return Err(ApiError::field("LensType", format!("Invalid LensType {t}")));
        }
        let status = query_values(query, "LensStatus").next();
        if let Some(s) = status
            .as_deref()
            .filter(|s| !["ALL", "DRAFT", "PUBLISHED"].contains(s))
        {
            return Err(ApiError::field(
                "LensStatus",
                format!("Invalid LensStatus {s}"),
            ));
        }
        let name = query_values(query, "LensName").next().unwrap_or_default();
        let store = inner.read();
        let lenses: Vec<&LensDef> = store
            .lenses()
            .filter(|l| lens_type.as_deref().is_none_or(|t| l.lens_type() == t))
            .filter(|l| status.as_deref() != Some("DRAFT") && l.name.starts_with(&name))
            .collect();
        let token = query_values(query, "NextToken").next();
        let (page, next_token) = page_after(&lenses, token.as_deref(), limit, |l| &l.alias)?;
        Ok(json_bytes(&ListLensesOut {
            lens_summaries: page
                .iter()
                .map(|l| LensSummaryOut {
                    lens_arn: l.arn(&inner.region),
                    lens_alias: &l.alias,
                    lens_name: &l.name,
                    lens_type: l.lens_type(),
                    description: &l.description,
                    lens_version: &l.version,
                    owner: l.owner(),
                    lens_status: "CURRENT",
                })
                .collect(),
            next_token,
        }))
    })
    .await
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LensOut<'a> {
    lens_arn: String,
    lens_version: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetLensOut<'a> {
    lens: LensOut<'a>,
}

/// `LensVersion` may name the lens's current or previous version.
pub(super) async fn get_lens(
    State(sim): State<Simulator>,
    Path(lens): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    call(&sim, Op::GetLens, None, |inner| {
        let version = query_values(query.as_deref(), "LensVersion").next();
        let store = inner.read();
        let key = lens_key(&lens, &inner.region)?;
        let not_found =
            || ApiError::not_found("LENS", &lens, format!("[ResourceNotFound] No lens {lens}"));
        let l = store.lens(key).ok_or_else(not_found)?;
        let version = match version.as_deref() {
            None => &l.version,
            Some(v) if v == l.version => &l.version,
            Some(v) => l
                .previous_version
                .as_ref()
                .filter(|p| *p == v)
                .ok_or_else(not_found)?,
        };
        Ok(json_bytes(&GetLensOut {
            lens: LensOut {
                lens_arn: l.arn(&inner.region),
                lens_version: version,
                name: &l.name,
                description: &l.description,
                owner: l.owner(),
            },
        }))
    })
    .await
}
