//! How long a finished build answer is kept (in KV and in the queue object).

use asu_protocol::request::BuildRequest;

/// A release build is reproducible from immutable upstream files.
pub const DONE_RELEASE_SECONDS: u64 = 7 * 86_400;
/// Snapshots move on daily, and first-boot scripts are often one-off.
pub const DONE_VOLATILE_SECONDS: u64 = 86_400;
/// Failures are kept briefly so that a retry storm does not rebuild, but a
/// fixed upstream is picked up soon. KV's minimum expiration is 60 s.
pub const FAILED_SECONDS: u64 = 300;

pub fn is_snapshot(version: &str) -> bool {
    version.to_ascii_uppercase().ends_with("SNAPSHOT")
}

/// Seconds to keep the answer of a finished build of `request`.
pub fn result_ttl(request: &BuildRequest, succeeded: bool) -> u64 {
    if !succeeded {
        FAILED_SECONDS
    } else if is_snapshot(&request.version) || request.defaults.is_some() {
        DONE_VOLATILE_SECONDS
    } else {
        DONE_RELEASE_SECONDS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_choice() {
        let release = BuildRequest::new("24.10.5", "mediatek/filogic", "glinet_gl-mt6000");
        assert_eq!(result_ttl(&release, true), 604_800);
        assert_eq!(result_ttl(&release, false), 300);
        let branch_snapshot = BuildRequest::new("22.03-SNAPSHOT", "x86/64", "generic");
        assert_eq!(result_ttl(&branch_snapshot, true), 86_400);
        let snapshot = BuildRequest::new("SNAPSHOT", "x86/64", "generic");
        assert_eq!(result_ttl(&snapshot, true), 86_400);
        let mut with_defaults = release.clone();
        with_defaults.defaults = Some("uci set system.@system[0].hostname=x".into());
        assert_eq!(result_ttl(&with_defaults, true), 86_400);
        assert!(result_ttl(&with_defaults, false) >= 60, "KV rejects expirations under 60 s");
    }
}
