//! The Well-Architected Tool simulator: an in-memory stand-in for the AWS service that
//! speaks its real REST-JSON wire format, so the real `aws-sdk-wellarchitected` client
//! (pointed at [`SimServer::url`] via `endpoint_url`) is tested, benchmarked and demoed
//! without an AWS account. Nothing here depends on the rest of the daemon.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use rel04d_simulator::Simulator;
//! let sim = Simulator::generated("us-east-1", 100, 42);
//! let server = sim.serve("127.0.0.1:0".parse()?).await?;
//! println!("endpoint: {}", server.url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The operations it serves, the choices it makes where the API model leaves room, and
//! its known leniencies (where it accepts what AWS may not) are listed in the crate's
//! `README.md`; `tests/conformance.rs` checks the wire format against botocore's model.
//!
//! # Faults
//!
//! [`Faults`] (in-process via `set_faults`, or `PUT /_sim/faults`) adds latency and
//! spikes, a hard token-bucket rate limit, random throttles/500s/409s and denials.
//! Randomness comes from an RNG seeded with `Faults::seed`, so a sequential request
//! sequence sees the same faults on every run. Every API call is counted per
//! operation and outcome ([`CallStats`]), and per workload and operation
//! ([`Simulator::workload_calls`], the first 200,000 pairs); `/_sim/` calls, unknown
//! and unsupported operations are not.
//!
//! # Seed file (`Simulator::from_seed_file`)
//!
//! ```json
//! {
//!   "region": "us-east-1",
//!   "lenses": [],
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
//! | `PUT /_sim/workloads/{id}/lenses/{lens}/status` | `{"status": "NOT_CURRENT"}` | `WorkloadInfo` |
//! | `PUT /_sim/workloads/{id}/answers/{lens}/{question}` | `AnswerSpec` | `WorkloadInfo` |
//! | `POST /_sim/lenses` | `LensDef` (a custom lens, README) | 201 `{"alias": ...}` |
//! | `GET /_sim/calls/workloads/{id}` | | `{"ListAnswers": 2, ...}` |
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
//! serializing. Faults take one short mutex per call; counters are atomics, the
//! per-workload ones a map that allocates only for a pair not yet seen.
//! [`Simulator::serve_regions`] finds a request's region in a map, so a call
//! costs the same with one region or a thousand.

mod admin;
mod answer_wire;
mod answers;
mod api;
mod catalog;
pub mod cli;
mod edit;
mod errors;
mod faults;
mod generate;
mod lens;
mod lenses;
mod milestones;
mod notifications;
mod paging;
mod reviews;
mod routes;
mod server;
mod sim;
mod stats;
mod store;
mod tags;
mod types;
mod update;
mod wire;
mod workloads;

pub use api::DEFAULT_PAGE_SIZE;
pub use catalog::{ChoiceDef, LensDef, PillarDef, QuestionDef};
pub use generate::GENERATED_ACCOUNTS;
pub use lens::{
    CHOICE_CONSTANT_WORK, CHOICE_IDEMPOTENT, CHOICE_IDENTIFY, CHOICE_LOOSELY_COUPLED, CHOICE_NONE,
    LENS_ALIAS, PILLAR_ID, QUESTION_ID, QUESTION_TITLE,
};
pub use routes::{OPERATIONS, OperationRoute, UNSUPPORTED};
pub use server::SimServer;
pub use sim::Simulator;
pub use types::{
    AnswerSpec, CallStats, Faults, OutcomeCounts, WorkloadInfo, WorkloadSpec, WorkloadUpdate,
};
