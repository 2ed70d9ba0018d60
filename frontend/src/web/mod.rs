//! Browser bindings: fetch, XMLHttpRequest with progress, timers, the
//! router's JSON-RPC transport, the page (address bar, marks, files) and
//! reading the mount element.

pub mod dom;
pub mod net;
pub mod page;
pub mod ubus;
