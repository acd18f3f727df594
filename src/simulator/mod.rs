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
//! | UpdateWorkload | `PATCH /workloads/{WorkloadId}` | answers the workload; see below for what is kept |
//! | DeleteWorkload | `DELETE /workloads/{WorkloadId}?ClientRequestToken=` | empty 200; token required; a retry with the token of a delete that succeeded succeeds again |
//! | GetAnswer | `GET /workloads/{WorkloadId}/lensReviews/{LensAlias}/answers/{QuestionId}` | `?MilestoneNumber=` → 404 (no milestones) |
//! | UpdateAnswer | `PATCH` same path | see `update.rs` for the semantics |
//! | ListTagsForResource | `GET /tags/{WorkloadArn}` | `{"Tags": {}}` when untagged |
//! | TagResource | `POST /tags/{WorkloadArn}` | adds, overwriting existing keys; empty 200 |
//! | UntagResource | `DELETE /tags/{WorkloadArn}?tagKeys=…` | keys repeat; absent keys are ignored; empty 200 |
//!
//! Any other request (an unknown path, or a known path with another method) is a 404
//! `UnknownOperationException` in the JSON error shape below, with a message naming
//! the method and path: the routing error of Smithy's REST-JSON servers, minus their
//! bare 405 for a known path, which SDKs report as an unknown error "405".
//!
//! The in-process API has the same changes, sharing the HTTP operations' validation
//! (`edit.rs`): [`Simulator::tag_workload`], [`Simulator::untag_workload`],
//! [`Simulator::update_workload`], [`Simulator::delete_workload`], plus the admin-only
//! `set_tags`, `set_lenses`, `set_answer`.
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
//!   review does not exist). Path labels are percent-decoded.
//! - Lenses, as the `LensAlias` API reference describes: an official lens by alias or
//!   by `arn:aws:wellarchitected:<this region>::lens/<alias>` (no account id); an ARN
//!   with an account id is a custom lens and matches only a workload lens listed by
//!   that exact ARN, never the official lens of the same name; an ARN of another
//!   region, service or shape names no lens here (404 LENS_REVIEW).
//! - A choice's `Reason` is "why a choice is non-applicable" (API reference): a
//!   ChoiceUpdate with a reason and status SELECTED or UNSELECTED is a 400
//!   ValidationException, and a choice that leaves NOT_APPLICABLE (by ChoiceUpdates
//!   or by being listed in SelectedChoices) loses its reason.
//! - A malformed workload id (not `[0-9a-f]{32}`) is a 400 ValidationException, as the
//!   model's pattern demands; a well-formed unknown id is a 404.
//! - `ChoiceAnswers` lists only choices whose status is not UNSELECTED (or that carry a
//!   reason/notes); a missing choice means UNSELECTED. `SelectedChoices` and
//!   `ChoiceAnswers` are derived from one status per choice, so they always agree.
//! - `Risk` is simplified: NOT_APPLICABLE when not applicable, UNANSWERED when nothing
//!   is selected, HIGH when "None of these" (or no best practice) is selected, NONE for
//!   ≥3 of the 4 best practices, else MEDIUM. `RiskCounts` count this one question.
//! - UpdateWorkload keeps `WorkloadName` (3–100 chars, unique among the owner's
//!   workloads ignoring case and spaces, as the model's documentation says; a clash is
//!   a 409 ConflictException), `Description`, `Environment`, `ReviewOwner`, `Notes` and
//!   `ImprovementStatus`, each checked against the model's lengths and enums. Until
//!   set, `Environment` follows an `env` tag (`prod*` or none → PRODUCTION) and
//!   `ImprovementStatus` follows the risk.
//! - Tags follow the model's TagMap/TagKey: at most 50 per workload (after merging),
//!   keys 1–128 chars of letters, digits, spaces and `_.:/=+@-`, values ≤ 256 chars.
//!   TagResource/UntagResource name workloads by ARN; an ARN naming no workload of this
//!   simulator is a 404, as for ListTagsForResource.
//! - Errors carry status, `X-Amzn-Errortype: <Shape>`, and a body with `__type` and
//!   the shape's members (`Message`; ResourceNotFound/Conflict add `ResourceId`,
//!   `ResourceType`; Throttling adds `QuotaCode`, `ServiceCode`; Validation adds
//!   `Reason`, `Fields`). Every response has `Content-Type: application/json` and
//!   `x-amzn-RequestId`. SigV4 is not checked.
//! - The tag operations' model lists only InternalServer and ResourceNotFound, yet
//!   injected throttling and access denial apply to them as to every call, as they do
//!   on AWS, and input breaking TagMap/TagKeyList constraints is a
//!   ValidationException; the SDK surfaces those as unmodelled errors with the right
//!   code.
//! - Denied workloads still appear in ListWorkloads (resource-level denial);
//!   `Faults::deny_operations` denies whole operations (a missing IAM permission),
//!   which is how ListWorkloads' modelled AccessDeniedException is reached.
//! - ConflictException (409) comes from a workload name clash, or as an injected fault
//!   on the writes that model it (`Faults::conflict_probability`: UpdateAnswer,
//!   UpdateWorkload, DeleteWorkload); the simulator has no concurrent writers.
//!
//! # Known leniencies (where the simulator accepts what AWS may not, or guesses)
//!
//! Where AWS's documentation does not say what happens, the simulator picks the
//! behaviour below; tests written against it should not depend on these.
//!
//! - The status and code for a lens ARN of another region or a malformed lens ARN
//!   (404 LENS_REVIEW here) and for a reason on a SELECTED/UNSELECTED choice (400
//!   here) are undocumented.
//! - The answer-level `Reason` is kept even while `IsApplicable` is true (the API
//!   reference calls it "why a question is not applicable" but says no more).
//! - UpdateWorkload type-checks but does not keep `AccountIds`, `AwsRegions`,
//!   `NonAwsRegions`, `PillarPriorities`, `ArchitecturalDesign`,
//!   `IsReviewOwnerUpdateAcknowledged`, `IndustryType`, `Industry`, `DiscoveryConfig`,
//!   `Applications` and `JiraConfiguration`, nor checks their patterns or enums;
//!   unknown body members are ignored everywhere.
//! - Names are unique only through UpdateWorkload: the admin API (`add_workload`,
//!   seed files) does not check them.
//! - Tags: the `aws:` prefix is not reserved; `\p{Z}` in TagKey is approximated by
//!   Rust's non-control whitespace. Tagging counts as an update (`UpdatedAt` moves).
//! - DeleteWorkload does not detect a ClientRequestToken reused for another
//!   workload (AWS asks clients not to); remembered tokens are never forgotten.
//! - TagResource/UntagResource accept only workload ARNs (AWS also tags lenses,
//!   profiles and review templates, which the simulator does not have).
//! - HEAD on a GetWorkload/GetAnswer/ListTagsForResource path is answered as GET.
//! - Only the `aws` partition: lens and workload ARNs are `arn:aws:…` in any region.
//!
//! # Faults
//!
//! [`Faults`] (in-process via `set_faults`, or `PUT /_sim/faults`) adds latency and
//! spikes, a hard token-bucket rate limit, random throttles/500s/409s and denials.
//! Randomness comes from an RNG seeded with `Faults::seed`, so a sequential request
//! sequence sees the same faults on every run. Every API call is counted per
//! operation and outcome ([`CallStats`]); `/_sim/` calls and unknown operations are not.
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
//! Errors: 400/404 with `{"error": "..."}`; a method a `/_sim/` path lacks gets the
//! API's UnknownOperationException like any unmatched request.
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
