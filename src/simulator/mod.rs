//! The Well-Architected Tool simulator: an in-memory stand-in for the AWS service that
//! speaks its real REST-JSON wire format, so the real `aws-sdk-wellarchitected` client
//! (pointed at [`SimServer::url`] via `endpoint_url`) is tested, benchmarked and demoed
//! without an AWS account. Nothing here depends on the rest of the daemon.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use rel04d::simulator::Simulator;
//! let sim = Simulator::generated("us-east-1", 100, 42);
//! let server = sim.serve("127.0.0.1:0".parse()?).await?;
//! println!("endpoint: {}", server.url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! # Operations (service `wellarchitected`, API version 2020-03-31)
//!
//! | operation | binding | notes |
//! | --- | --- | --- |
//! | ListWorkloads | `POST /workloadsSummaries` | MaxResults 1–50 (default 50), opaque NextToken, case-sensitive WorkloadNamePrefix |
//! | GetWorkload | `GET /workloads/{WorkloadId}` | `Tags` omitted when empty (TagMap has min 1) |
//! | GetAnswer | `GET /workloads/{WorkloadId}/lensReviews/{LensAlias}/answers/{QuestionId}` | `?MilestoneNumber=` → 404 (no milestones) |
//! | UpdateAnswer | `PATCH` same path | see `update.rs` for the semantics |
//! | ListTagsForResource | `GET /tags/{WorkloadArn}` | `{"Tags": {}}` when untagged |
//!
//! Bindings, member names, enum values and error shapes were checked against botocore's
//! `wellarchitected/2020-03-31/service-2.json` (and `tests/simulator_conformance.rs`
//! keeps checking them). Decisions worth knowing:
//!
//! - Timestamps (`UpdatedAt`) are epoch seconds as JSON numbers (the model's
//!   `Timestamp` has no `timestampFormat`; REST-JSON bodies default to epoch-seconds).
//! - Only the `wellarchitected` lens has content, and only REL 04
//!   (`prevent-interaction-failure`, pillar `reliability`). On a workload with that lens
//!   another question id is a 404 ResourceNotFoundException (`ResourceType` QUESTION);
//!   a lens not applied to the workload is a 404 too (`ResourceType` LENS_REVIEW: the
//!   review does not exist). Lenses may be named by alias or official lens ARN; path
//!   labels are percent-decoded.
//! - A malformed workload id (not `[0-9a-f]{32}`) is a 400 ValidationException, as the
//!   model's pattern demands; a well-formed unknown id is a 404.
//! - `ChoiceAnswers` lists only choices whose status is not UNSELECTED (or that carry a
//!   reason/notes); a missing choice means UNSELECTED. `SelectedChoices` and
//!   `ChoiceAnswers` are derived from one status per choice, so they always agree.
//! - `Risk` is simplified: NOT_APPLICABLE when not applicable, UNANSWERED when nothing
//!   is selected, HIGH when "None of these" (or no best practice) is selected, NONE for
//!   ≥3 of the 4 best practices, else MEDIUM. `RiskCounts` count this one question.
//! - Errors carry status, `X-Amzn-Errortype: <Shape>`, and a body with `__type` and
//!   the shape's members (`Message`; ResourceNotFound/Conflict add `ResourceId`,
//!   `ResourceType`; Throttling adds `QuotaCode`, `ServiceCode`; Validation adds
//!   `Reason`, `Fields`). Every response has `Content-Type: application/json` and
//!   `x-amzn-RequestId`. SigV4 is not checked.
//! - ListTagsForResource's model lists only InternalServer and ResourceNotFound, yet
//!   injected throttling and access denial apply to it as to every call, as they do
//!   on AWS; the SDK surfaces those as unmodeled errors with the right code.
//! - Denied workloads still appear in ListWorkloads (resource-level denial);
//!   `Faults::deny_operations` denies whole operations (a missing IAM permission),
//!   which is how ListWorkloads' modelled AccessDeniedException is reached.
//! - ConflictException (409) exists only as an injected fault on UpdateAnswer
//!   (`Faults::conflict_probability`); the simulator has no concurrent writers.
//!
//! # Faults
//!
//! [`Faults`] (in-process via `set_faults`, or `PUT /_sim/faults`) adds latency and
//! spikes, a hard token-bucket rate limit, random throttles/500s/409s and denials.
//! Randomness comes from an RNG seeded with `Faults::seed`, so a sequential request
//! sequence sees the same faults on every run. Every API call is counted per
//! operation and outcome ([`CallStats`]); `/_sim/` calls are not.
//!
//! # Seed file (`Simulator::from_seed_file`)
//!
//! ```json
//! {
//!   "region": "us-east-1",
//!   "workloads": [
//!     {
//!       "id": "0123456789abcdef0123456789abcdef",
//!       "name": "workload-0001-payments",
//!       "owner": "111122223333",
//!       "lenses": ["wellarchitected"],
//!       "tags": {"env": "prod"},
//!       "answer": {
//!         "selected": ["rel_prevent_interaction_failure_identify"],
//!         "not_applicable": ["rel_prevent_interaction_failure_constant_work"],
//!         "is_applicable": true
//!       }
//!     }
//!   ]
//! }
//! ```
//!
//! Every field but the workload list entries' existence is optional: `region` defaults
//! to `us-east-1`; a workload's fields default as in [`WorkloadSpec::default`] (random
//! id, generated name, owner 111122223333, lens `wellarchitected`, no tags, unanswered).
//!
//! # HTTP admin (same listener, JSON in and out, never faulted or counted)
//!
//! | request | body | answer |
//! | --- | --- | --- |
//! | `GET /_sim/workloads` | | `[WorkloadInfo]` |
//! | `POST /_sim/workloads` | `WorkloadSpec` | 201 `WorkloadInfo` |
//! | `GET /_sim/workloads/{id}` | | `WorkloadInfo` |
//! | `PUT /_sim/workloads/{id}/answer` | `AnswerSpec` | `WorkloadInfo` |
//! | `PUT /_sim/workloads/{id}/tags` | `{"k": "v"}` | `WorkloadInfo` |
//! | `PUT /_sim/workloads/{id}/lenses` | `["wellarchitected"]` | `WorkloadInfo` |
//! | `DELETE /_sim/workloads/{id}` | | 204 |
//! | `GET`/`PUT /_sim/faults` | `Faults` (`latency_ms`, `latency_spike_ms`) | `Faults` |
//! | `GET /_sim/calls` | | `CallStats` |
//! | `POST /_sim/calls/reset` | | 204 |
//!
//! Errors: 400/404 with `{"error": "..."}`.
//!
//! # Performance
//!
//! State is a `std::sync::RwLock` over a hash map plus a sorted id vector (keyset
//! paging); no lock is held across an await. Responses borrow from the store while
//! serializing. Faults take one short mutex per call; counters are atomics.

mod admin;
mod answers;
mod api;
mod edit;
mod errors;
mod faults;
mod generate;
mod lens;
mod paging;
mod server;
mod sim;
mod stats;
mod store;
mod tags;
mod types;
mod update;
mod wire;
mod workloads;

pub use api::{DEFAULT_PAGE_SIZE, OPERATIONS, OperationRoute};
pub use generate::GENERATED_ACCOUNTS;
pub use lens::{
    CHOICE_CONSTANT_WORK, CHOICE_IDEMPOTENT, CHOICE_IDENTIFY, CHOICE_LOOSELY_COUPLED, CHOICE_NONE,
    CHOICES, ChoiceDef, LENS_ALIAS, PILLAR_ID, QUESTION_ID, QUESTION_TITLE,
};
pub use server::SimServer;
pub use sim::Simulator;
pub use types::{
    AnswerSpec, CallStats, Faults, OutcomeCounts, WorkloadInfo, WorkloadSpec, WorkloadUpdate,
};
