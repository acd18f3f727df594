//! rel04d — keeps the AWS Well-Architected REL 04 control true across workloads.
pub mod aws;
pub mod cli;
pub mod config;
pub mod control;
pub mod demo;
pub mod filter;
pub mod metrics;
pub mod queue;
pub mod reconcile;
pub mod scope;
pub mod simulator;
pub mod startup;
pub mod store;
pub mod sweep;
pub mod telemetry;
pub mod wellarchitected;
pub mod workload;
