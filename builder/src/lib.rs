//! The builder service: leases jobs from the edge, runs the OpenWrt
//! ImageBuilder for each and uploads the results.

pub mod classify;
pub mod config;
pub mod edge;
pub mod ibcache;
pub mod ibinfo;
pub mod job;
pub mod jobcheck;
pub mod leftovers;
pub mod runner;
pub mod service;
pub mod unpack;

/// One log line on stderr, with a Unix timestamp.
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        eprintln!("[builder {}] {}", $crate::unix_now(), format!($($arg)*))
    };
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
