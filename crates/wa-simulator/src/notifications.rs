//! ListNotifications: one LENS_VERSION_UPGRADED notification per lens review that is
//! behind its lens (NOT_CURRENT), one LENS_VERSION_DEPRECATED per DEPRECATED review.
//! `ResourceArn`/`ResourceName` are left out: the model's pattern allows only
//! review-template ARNs there.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::api::{body_max_results, call, json_bytes, parse_body};
use super::errors::ApiError;
use super::paging::{decode_token, encode_token};
use super::sim::Simulator;
use super::stats::Op;
use super::workloads::check_workload_id;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ListNotificationsIn {
    workload_id: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
    resource_arn: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LensUpgradeSummaryOut<'a> {
    workload_id: &'a str,
    workload_name: &'a str,
    lens_alias: &'a str,
    lens_arn: String,
    current_lens_version: &'a str,
    latest_lens_version: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NotificationSummaryOut<'a> {
    #[serde(rename = "Type")]
    kind: &'static str,
    lens_upgrade_summary: LensUpgradeSummaryOut<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListNotificationsOut<'a> {
    notification_summaries: Vec<NotificationSummaryOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// Paged over workloads in id order (`NextToken`: the last workload of the page);
/// `WorkloadId` or `ResourceArn` (a workload ARN) narrows to one workload.
pub(super) async fn list_notifications(State(sim): State<Simulator>, body: Bytes) -> Response {
    call(&sim, Op::ListNotifications, None, |inner| {
        let req: ListNotificationsIn = parse_body(&body)?;
        if let Some(id) = &req.workload_id {
            check_workload_id(id)?;
        }
        let limit = body_max_results(req.max_results)?;
        let after = match req.next_token.as_deref() {
            None => None,
            Some(t) => Some(
                decode_token(t).ok_or_else(|| ApiError::field("NextToken", "Invalid NextToken"))?,
            ),
        };
        let store = inner.read();
        let start = after.map_or(0, |a| {
            store
                .sorted_ids()
                .partition_point(|id| id.as_str() <= a.as_str())
        });
        let mut summaries = Vec::new();
        let mut last = None;
        let mut more = false;
        for w in store.sorted_ids()[start..]
            .iter()
            .filter_map(|id| store.get(id))
        {
            if req.workload_id.as_ref().is_some_and(|id| *id != w.id)
                || req.resource_arn.as_ref().is_some_and(|arn| *arn != w.arn)
            {
                continue;
            }
            let behind: Vec<_> = w
                .reviews
                .iter()
                .filter(|(key, r)| {
                    matches!(r.status, "NOT_CURRENT" | "DEPRECATED") && w.has_lens(key)
                })
                .filter_map(|(key, r)| Some((store.lens(key)?, r)))
                .collect();
            if behind.is_empty() {
                continue;
            }
            if summaries.len() + behind.len() > limit && !summaries.is_empty() {
                more = true;
                break;
            }
            for (lens, review) in behind {
                summaries.push(NotificationSummaryOut {
                    kind: if review.status == "DEPRECATED" {
                        "LENS_VERSION_DEPRECATED"
                    } else {
                        "LENS_VERSION_UPGRADED"
                    },
                    lens_upgrade_summary: LensUpgradeSummaryOut {
                        workload_id: &w.id,
                        workload_name: &w.name,
                        lens_alias: &lens.alias,
                        lens_arn: lens.arn(&w.region),
                        current_lens_version: review.version(lens),
                        latest_lens_version: &lens.version,
                    },
                });
            }
            last = Some(w.id.as_str());
        }
        Ok(json_bytes(&ListNotificationsOut {
            notification_summaries: summaries,
            next_token: more.then(|| last.map(encode_token)).flatten(),
        }))
    })
    .await
}
