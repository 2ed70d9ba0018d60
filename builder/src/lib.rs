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
pub mod repos;
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
/// `2026-12-03T19:10:00Z` for a Unix time: what `build_at` carries, so that
/// browsers can parse it (`new Date(..)`).
pub fn iso8601_utc(unix: u64) -> String {
    let (days, secs) = ((unix / 86_400) as i64, unix % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn iso8601_matches_date() {
        // Checked with `date -u -d @<t> +%FT%TZ`.
        assert_eq!(super::iso8601_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::iso8601_utc(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(super::iso8601_utc(1_796_323_826), "2026-12-03T18:50:26Z");
    }
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
