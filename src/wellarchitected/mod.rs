//! The Well-Architected Tool adapter: the calls rel04d makes, with paging,
//! a client-side rate limit, retries and error classes, translated into core types.
//!
//! SDK retries are turned off: this module owns retrying, so every attempt passes
//! the rate limiter and is counted, and throttling storms cannot drain a retry quota.

mod adaptive;
mod answers;
mod describe;
mod rate;
mod retry;
mod updated;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_wellarchitected::Client;
use aws_sdk_wellarchitected::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_wellarchitected::types as wa;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::metrics::{CallLabels, Metrics, OperationLabels, RetryLabels};
use crate::workload::Workload;

pub use answers::{LensReview, MAX_LENSES_PER_WORKLOAD, MAX_QUESTIONS_PER_LENS, QuestionAnswer};
pub use rate::{CallOutcome, Permit, RateLimiter};
pub use retry::{ErrorKind, WaError, backoff};

const BACKOFF_BASE: Duration = Duration::from_millis(50);
const BACKOFF_CAP: Duration = Duration::from_secs(5);
/// Calls in flight at once across every account-region of this process. Each
/// scope may run `aws.max_concurrency` workers, and every scope may sweep at
/// once, but every call in flight holds a pooled connection and its buffers
/// (~35 KiB): unbounded, 512 of them were a third of the daemon's memory. 128 at
/// once is 1,280 calls/s even at 100 ms a call, more than a million workloads
/// per 15 minutes need. A call takes its place at its rate-limit slot, and its
/// scope's next slot waits for that (`rate.rs`), so a scope's calls go out
/// spaced at its rate however long they queue here.
pub const CALLS_IN_FLIGHT: usize = 128;

/// The Tool operations rel04d calls (the `operation` label).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Operation {
    ListWorkloads,
    GetWorkload,
    GetAnswer,
    UpdateAnswer,
    ListAnswers,
    ListLensReviews,
}

impl Operation {
    pub const ALL: [Operation; 6] = [
        Operation::ListWorkloads,
        Operation::GetWorkload,
        Operation::GetAnswer,
        Operation::UpdateAnswer,
        Operation::ListAnswers,
        Operation::ListLensReviews,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operation::ListWorkloads => "ListWorkloads",
            Operation::GetWorkload => "GetWorkload",
            Operation::GetAnswer => "GetAnswer",
            Operation::UpdateAnswer => "UpdateAnswer",
            Operation::ListAnswers => "ListAnswers",
            Operation::ListLensReviews => "ListLensReviews",
        }
    }
}

/// One account-region's connection to the Tool.
#[derive(Debug)]
pub struct WellArchitected {
    client: Client,
    limiter: RateLimiter,
    /// Shared by every scope: see [`CALLS_IN_FLIGHT`].
    in_flight: Arc<Semaphore>,
    max_attempts: u32,
    metrics: Arc<Metrics>,
    /// A moving average of how long its calls take, in microseconds: how many
    /// evaluations the scope needs started to use its rate
    /// (`account_region::workers::started_limit`).
    latency_micros: AtomicU64,
}

impl WellArchitected {
    pub fn new(
        client: Client,
        limiter: RateLimiter,
        in_flight: Arc<Semaphore>,
        max_attempts: u32,
        metrics: Arc<Metrics>,
    ) -> Self {
        WellArchitected {
            client,
            limiter,
            in_flight,
            max_attempts: max_attempts.max(1),
            metrics,
            latency_micros: AtomicU64::new(0),
        }
    }

    /// How long this scope's calls take, on average over the last few.
    pub fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_micros.load(Ordering::Relaxed))
    }

    /// Folds one call's duration into [`Self::latency`] (an eighth of it: a
    /// slow call moves the average, one does not make it). Concurrent calls
    /// may overwrite each other's sample; the average stays one of theirs.
    fn observe_latency(&self, took: Duration) {
        let took = took.as_micros().min(u64::MAX as u128) as u64;
        let average = self.latency_micros.load(Ordering::Relaxed);
        let next = if average == 0 {
            took
        } else {
            average - average / 8 + took / 8
        };
        self.latency_micros.store(next, Ordering::Relaxed);
    }

    /// Runs one call with rate limiting, retries of transient errors, and metrics.
    /// Retries are logged as warnings; inside a reconcile their line carries the
    /// reconcile span, so it names the workload.
    async fn call<T, E, F, Fut>(&self, operation: Operation, send: F) -> Result<T, WaError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let metrics = &self.metrics;
        let by_operation = OperationLabels {
            operation: operation.as_str(),
        };
        let mut attempt = 1;
        loop {
            let (permit, in_flight) = self.limiter.acquire_in_flight(&self.in_flight).await;
            let sent = {
                let _in_flight = in_flight;
                let started = Instant::now();
                // Boxed: the SDK's future is most of an evaluation's, and only
                // calls in flight need it, not workers waiting for a slot.
                let sent = Box::pin(send()).await;
                let took = started.elapsed();
                self.observe_latency(took);
                metrics
                    .aws_call_duration
                    .get_or_create(&by_operation)
                    .observe(took.as_secs_f64());
                sent
            };
            let error = match sent {
                Ok(output) => {
                    self.limiter.record(permit, CallOutcome::Succeeded);
                    metrics
                        .aws_calls
                        .get_or_create(&CallLabels {
                            operation: operation.as_str(),
                            outcome: "ok",
                        })
                        .inc();
                    return Ok(output);
                }
                Err(error) => error,
            };
            let (kind, message) = retry::classify(&error);
            self.limiter.record(
                permit,
                if kind == ErrorKind::Throttled {
                    CallOutcome::Throttled
                } else {
                    CallOutcome::Failed
                },
            );
            metrics
                .aws_calls
                .get_or_create(&CallLabels {
                    operation: operation.as_str(),
                    outcome: kind.as_str(),
                })
                .inc();
            if kind == ErrorKind::Throttled {
                metrics.aws_throttles.get_or_create(&by_operation).inc();
            }
            if !kind.is_transient() || attempt >= self.max_attempts {
                return Err(WaError {
                    operation: operation.as_str(),
                    kind,
                    message,
                    attempts: attempt,
                });
            }
            metrics
                .aws_retries
                .get_or_create(&RetryLabels {
                    operation: operation.as_str(),
                    kind: kind.as_str(),
                })
                .inc();
            let wait = backoff(attempt, BACKOFF_BASE, BACKOFF_CAP);
            tracing::warn!(
                operation = operation.as_str(),
                attempt,
                kind = kind.as_str(),
                error = %message,
                retry_in_ms = wait.as_millis() as u64,
                "call failed; retrying"
            );
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// This account-region's rate limit: its current rate and what it learned.
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// One page of at most `size` workloads (1 to 50); pass the returned token
    /// back for the next.
    pub async fn list_workloads_page(
        &self,
        token: Option<String>,
        size: usize,
    ) -> Result<(Vec<Workload>, Option<String>), WaError> {
        let output = self
            .call(Operation::ListWorkloads, || {
                self.client
                    .list_workloads()
                    .max_results(size.clamp(1, 50) as i32)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        let workloads = output
            .workload_summaries()
            .iter()
            .filter_map(from_summary)
            .collect();
        Ok((workloads, output.next_token().map(str::to_owned)))
    }

    /// The workload with its tags (GetWorkload).
    pub async fn describe_workload(&self, workload_id: &str) -> Result<Workload, WaError> {
        let output = self
            .call(Operation::GetWorkload, || {
                self.client.get_workload().workload_id(workload_id).send()
            })
            .await?;
        output
            .workload()
            .and_then(from_workload)
            .ok_or_else(|| WaError {
                operation: Operation::GetWorkload.as_str(),
                kind: ErrorKind::Other,
                message: "the response has no workload".to_owned(),
                attempts: 1,
            })
    }
}

/// The region and account of a workload ARN
/// (`arn:aws:wellarchitected:<region>:<account>:workload/<id>`).
fn arn_parts(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, _, region, account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    Some((region, account))
}

fn workload_from(
    arn: Option<&str>,
    id: Option<&str>,
    name: Option<&str>,
    owner: Option<&str>,
    lenses: &[String],
) -> Option<Workload> {
    let arn = arn?;
    let (region, arn_account) = arn_parts(arn)?;
    Some(Workload {
        arn: arn.to_owned(),
        id: id?.to_owned(),
        name: name.unwrap_or_default().to_owned(),
        account_id: owner.unwrap_or(arn_account).to_owned(),
        region: region.to_owned(),
        lenses: lenses.to_vec(),
        tags: None,
        data: None,
    })
}

fn from_summary(summary: &wa::WorkloadSummary) -> Option<Workload> {
    workload_from(
        summary.workload_arn(),
        summary.workload_id(),
        summary.workload_name(),
        summary.owner(),
        summary.lenses(),
    )
}

fn from_workload(workload: &wa::Workload) -> Option<Workload> {
    let mut converted = workload_from(
        workload.workload_arn(),
        workload.workload_id(),
        workload.workload_name(),
        workload.owner(),
        workload.lenses(),
    )?;
    converted.tags = Some(
        workload
            .tags()
            .map(|tags| tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    );
    converted.data = Some(describe::workload_data(workload));
    Some(converted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_give_region_and_account() {
        assert_eq!(
            arn_parts("arn:aws:wellarchitected:eu-west-1:123456789012:workload/abc"),
            Some(("eu-west-1", "123456789012"))
        );
        assert_eq!(arn_parts("not-an-arn"), None);
    }

    #[test]
    fn the_owner_wins_over_the_arn_account_and_the_arn_gives_the_region() {
        let w = workload_from(
            Some("arn:aws:wellarchitected:us-west-2:111111111111:workload/abc"),
            Some("abc"),
            Some("name"),
            Some("222222222222"),
            &["wellarchitected".to_owned()],
        )
        .unwrap();
        assert_eq!(
            (w.account_id.as_str(), w.region.as_str()),
            ("222222222222", "us-west-2")
        );
        assert!(w.has_lens());
        assert_eq!(workload_from(None, Some("abc"), None, None, &[]), None);
    }
}
