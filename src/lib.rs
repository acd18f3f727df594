//! rel04d keeps the AWS Well-Architected REL 04 control ("How do you design
//! interactions in a distributed system to prevent failures?") true across every
//! workload of one or many accounts and regions.
//!
//! # One path for every evaluation
//!
//! ```text
//! trigger ──► work queue ──► reconcile ─────────────────────────► store (one transaction)
//!  sweep tick   per scope:     describe/list (wellarchitected)      control row, version-checked
//!  event (SQS,  dedupe by      resolve policies  (control, pure)    transition if the state changed
//!   POST /events) workload,    judge the answer  (control, pure)    outbox row, same transaction
//!               coalesce       enforce if asked  (wellarchitected)           │
//!  manual ───────────────────► (rel04d evaluate: straight to reconcile)      │
//!                                                                   notify ◄─┘ → EventBridge
//! ```
//!
//! Sweeps and events go through their account-region's work queue, which runs one
//! evaluation per workload at a time and coalesces bursts; `rel04d evaluate` runs
//! alone in its own process and calls reconcile directly. Reconcile reads and
//! decides a [`control::Verdict`] (record an outcome, remove, ignore, busy: a
//! pure decision table); [`store::Store::apply`] is the one place a verdict
//! becomes writes, committing a changed control row with its transition and
//! outbox row in one transaction.
//!
//! Every trigger asks the same thing, "evaluate workload W now", and
//! [`reconcile::Reconciler::reconcile`] is told nothing about why: it reads the
//! current answer and decides, so sweeps, events, retries and replays are idempotent
//! by construction. That is REL 04 applied to rel04d itself: loosely coupled (a queue
//! between intake and work), idempotent (same input, same result, no duplicate
//! transition) and constant work (every sweep does the full job).
//!
//! # Layout
//!
//! | module | holds |
//! | --- | --- |
//! | [`control`] | policies, hierarchy, expected answer, evaluation, enforce plan — pure, no I/O |
//! | [`wellarchitected`] | the Tool adapter: paging, rate limit, retries, error classes |
//! | [`store`] | sqlx over SQLite or Postgres: migrations, the documented tables, outbox, leases, mutes, filter queries |
//! | [`reconcile`] | the one evaluation path: reads, the decision table (pure), and the seam to `Store::apply` |
//! | [`queue`], [`account_region`] | the keyed work queue and each account-region's client, queue and workers |
//! | [`sweep`], [`scheduler`] | the constant-rate sweep of each scope |
//! | [`events`] | SQS consumer, `POST /events` inbox, CloudTrail event parsing |
//! | [`notify`] | the outbox publisher to EventBridge |
//! | [`organization`] | the fleet's accounts from AWS Organizations: the selection (pure), the listing, the refresh that re-plans scopes |
//! | [`ocsf`] | controls and transitions as OCSF Compliance Findings (`--output ocsf`) |
//! | [`securityhub`] | one AWS Security Hub finding (ASFF) per control, imported from its queue |
//! | [`http`], [`graphql`], [`explain`] | the HTTP listener: health, readiness, metrics, event intake, GraphQL, the status page (`http::web`), explanations |
//! | [`status`] | liveness, readiness and scrape-time gauges, the facts `/healthz`, `/readyz` and `/metrics` serve |
//! | [`filter`] | the filter grammar shared by the CLI and GraphQL |
//! | [`display`] | text others control made safe for terminals; error chains told once |
//! | [`config`], [`telemetry`], [`metrics`], [`aws`] | settings, logging, Prometheus registry, SDK set-up |
//! | [`shutdown`] | one cancellation token and task tracker for every task; a task that dies stops the daemon; an evaluation worker that panics is replaced |
//! | [`startup`], [`cli`], [`demo`] | wiring, commands and the demo (against the simulator crate, `crates/wa-simulator`, behind the default `simulator` feature) |
pub mod account_region;
pub mod aws;
pub mod cli;
pub mod config;
pub mod control;
pub mod demo;
pub mod display;
pub mod events;
pub mod explain;
pub mod filter;
pub mod graphql;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod ocsf;
pub mod organization;
pub mod queue;
pub mod reconcile;
pub mod scheduler;
pub mod securityhub;
pub mod shutdown;
pub mod startup;
pub mod status;
pub mod store;
pub mod sweep;
pub mod telemetry;
pub mod wellarchitected;
pub mod workload;
