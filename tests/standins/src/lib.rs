//! Stand-ins for what tests and the demo cannot reach from here: the
//! upstream download server (a generated mirror and its static server), the
//! OpenWrt ImageBuilder (a stand-in packed into each mirror archive) and a
//! router running OpenWrt (rpcd over HTTP, cgi-io upload, a LuCI-like page).

pub mod archive;
pub mod boardgen;
pub mod catalog;
pub mod curated;
pub mod fixtures;
pub mod imagebuilder;
pub mod mirror;
pub mod releases;
pub mod resolve;
pub mod router;
pub mod serve;

/// Prints the one line test harnesses wait for, and flushes it.
pub fn announce_listening(addr: std::net::SocketAddr) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening on http://{addr}");
    let _ = out.flush();
}
