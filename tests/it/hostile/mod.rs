//! The hostile-input suite: each finding of a hostile user or a careless operator,
//! replayed against the real binary or the real daemon. One module per area.

mod aws_events;
mod calculated;
mod http;
mod operator;
mod runtime;
mod spans;
mod sqs;
mod workload_owner;
