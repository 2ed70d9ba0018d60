//! Browser bindings: fetch, XMLHttpRequest with progress, timers, the
//! router's JSON-RPC transport and reading the mount element.

pub mod dom;
pub mod net;
pub mod ubus;
