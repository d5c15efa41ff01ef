//! Helpers of the live platform test (`tests/live_platform.rs`).

#![allow(dead_code)]

pub mod chain;
pub mod scenario;
pub mod standins;
