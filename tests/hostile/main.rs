//! The hostile-input suite: each finding of a hostile user or a careless operator,
//! replayed against the real binary or the real daemon. One test binary, one module
//! per area.

#[path = "../common/mod.rs"]
mod common;

mod aws_events;
mod http;
mod operator;
mod runtime;
mod spans;
mod sqs;
