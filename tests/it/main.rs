//! The integration tests: one binary, so the AWS SDK and the daemon link once.
//! One module per area (`cargo test --test it <module>::` runs one area);
//! [`common`] is the shared harness.

mod common;

mod accounts;
mod apply;
mod bad_input;
mod batched_writes;
mod cli;
mod closed_pipe;
mod config_fuzz;
mod control_key;
mod crash;
mod crash_loop;
mod csv_export;
mod daemon_sweep;
mod defer;
mod demo;
mod documented_commands;
mod events;
mod exception_expiry;
mod exceptions;
mod faults;
mod flapping;
mod graphql;
mod guardrails;
mod guardrails_cli;
mod guardrails_samples;
mod hostile;
mod http_events;
mod inbox_crash;
mod many_scopes;
mod module_graph;
mod monitoring;
mod mute;
mod ocsf;
mod organization;
mod rate;
mod read_only;
mod replicas;
mod secrets;
mod securityhub;
mod settle;
mod settle_model;
mod settle_process;
mod status_page;
mod store;
