//! A Rust core for skynet, behind skynet's C ABI (see `include/`).
//!
//! The core is plain Rust, one module per concern; `ffi` is the C edge (see there for the
//! fence around `unsafe`). The path of one message: `context::send` -> the handle registry
//! -> the service's queue (`mq`) -> the run queue and a worker (`scheduler`) ->
//! `Context::dispatch` -> the service's callback.
#![deny(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

pub mod command;
pub mod config;
pub mod context;
pub mod daemon;
pub mod env;
pub mod ffi;
pub mod handle;
pub mod harbor;
pub mod log;

pub mod memory;
pub mod message;
pub mod module;
pub mod monitor;
pub mod mq;
pub mod pending;
pub mod scheduler;
pub mod snlua;
pub mod socket;
pub mod spin;
pub mod start;
pub mod timer;

// Unit tests are executables: they need the Lua the process would otherwise provide.
#[cfg(test)]
#[link(name = "lua5.5", kind = "static")]
extern "C" {}
