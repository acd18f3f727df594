//! The integration tests: one binary, so the AWS SDK and the daemon link once.
//! One module per area (`cargo test --test it <module>::` runs one area);
//! [`common`] is the shared harness.

mod common;

mod accounts;
mod bad_input;
mod cli;
mod config_fuzz;
mod crash;
mod crash_loop;
mod daemon_sweep;
mod events;
mod faults;
mod graphql;
mod hostile;
mod http_events;
mod module_graph;
mod mute;
mod rate;
mod replicas;
mod secrets;
mod store;
