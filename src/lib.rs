//! rel04d — keeps the AWS Well-Architected REL 04 control true across workloads.
pub mod control;
pub mod simulator;
