//! rel04d — keeps the AWS Well-Architected REL 04 control true across workloads.
pub mod config;
pub mod control;
pub mod filter;
pub mod simulator;
pub mod store;
pub mod telemetry;
pub mod workload;
