//! The browser app of the attended sysupgrade server.
//!
//! Mounted into `#asu-app` (or the body). With a router session (the
//! `data-session` attribute or LuCI's `L.env.sessionid`) it upgrades that
//! router; without one it is the server's own page.
//!
//! Logic that needs no browser lives in plain modules with native tests:
//! `plan` (releases, the build request), `rpc` (router JSON-RPC answers),
//! `build_status` (edge build answers), `verify` (image checks), `flow`
//! (router steps and page state), `devices` (device search), `packages`
//! (package lists and their editing), `upgrade` (the update check), `link`
//! (page state in the URL). `web` holds the browser bindings and `ui` the
//! views and the step driver.

// A build with one page only leaves parts of the other unused.
#![cfg_attr(not(all(feature = "router", feature = "finder")), allow(dead_code))]

pub mod build_status;
pub mod devices;
pub mod flow;
pub mod json;
pub mod link;
pub mod packages;
pub mod plan;
pub mod rpc;
pub mod small;
pub mod upgrade;
pub mod verify;

mod ui;
mod web;

/// Runs when the module is instantiated (`init()` in the page).
#[cfg_attr(target_arch = "wasm32", wasm_bindgen::prelude::wasm_bindgen(start))]
pub fn start() {
    console_error_panic_hook::set_once();
    ui::mount();
}
