//! Hostile input: clients that send too much, too slowly or from the wrong place.

#[path = "../common/mod.rs"]
mod common;

mod http;
