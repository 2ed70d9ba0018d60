//! The harness of the cross-component tests: real processes (wrangler dev,
//! builder, stand-ins, Chromium) on 127.0.0.1, and helpers to talk to them.

pub mod builder_client;
pub mod contract;
pub mod http;
pub mod procs;
pub mod stack;
pub mod wait;
pub mod webdriver;
