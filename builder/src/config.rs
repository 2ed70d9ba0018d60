//! Settings from flags or the environment (each flag has an env name).

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// The PATH builds run with unless BUILD_PATH says otherwise.
pub const DEFAULT_BUILD_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

#[derive(Debug, Clone, Parser)]
#[command(
    name = "builder",
    about = "Leases build jobs from the edge and runs the OpenWrt ImageBuilder"
)]
pub struct Config {
    /// Base URL of the edge (e.g. http://127.0.0.1:8787).
    #[arg(long, env = "EDGE_URL")]
    pub edge_url: String,

    /// Shared secret sent as `Authorization: Bearer`. Prefer the env variable
    /// over the flag: flags are visible in the process list.
    #[arg(long, env = "BUILDER_TOKEN", hide_env_values = true)]
    pub token: String,

    /// Download server holding the ImageBuilders.
    #[arg(
        long,
        env = "UPSTREAM_URL",
        default_value = "https://downloads.openwrt.org"
    )]
    pub upstream_url: String,

    /// Unpacked ImageBuilders, kept and reused across builds.
    #[arg(long, env = "CACHE_DIR", default_value = "/var/cache/asu-builder")]
    pub cache_dir: PathBuf,

    /// Per-job folders (BIN_DIR, FILES), removed after each job.
    #[arg(long, env = "WORK_DIR", default_value = "/var/tmp/asu-builder")]
    pub work_dir: PathBuf,

    /// Longest one `make` call may run before its process group is killed.
    #[arg(long, env = "BUILD_TIMEOUT_SECS", default_value_t = 600)]
    pub build_timeout_secs: u64,

    /// Pause after an empty lease answer (204).
    #[arg(long, env = "POLL_INTERVAL_MS", default_value_t = 1000)]
    pub poll_interval_ms: u64,

    /// How often the current phase is re-sent while a job runs.
    #[arg(long, env = "HEARTBEAT_SECS", default_value_t = 10)]
    pub heartbeat_secs: u64,

    /// Name sent with each lease request (default: the host name).
    #[arg(long, env = "BUILDER_NAME")]
    pub name: Option<String>,

    /// Jobs run at the same time (builds of one ImageBuilder still run one by one).
    #[arg(long, env = "BUILDER_JOBS", default_value_t = 1)]
    pub jobs: usize,

    /// The make program.
    #[arg(long, env = "BUILDER_MAKE", default_value = "make")]
    pub make: String,

    /// PATH given to make (the build environment is otherwise empty).
    #[arg(long, env = "BUILD_PATH", default_value = DEFAULT_BUILD_PATH)]
    pub build_path: String,
}

impl Config {
    pub fn build_timeout(&self) -> Duration {
        Duration::from_secs(self.build_timeout_secs.max(1))
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms.max(10))
    }

    /// The heartbeat period, short enough to keep a lease of `lease_seconds` alive.
    pub fn heartbeat(&self, lease_seconds: u32) -> Duration {
        let configured = self.heartbeat_secs.max(1);
        let safe = (u64::from(lease_seconds) / 3).max(1);
        Duration::from_secs(configured.min(safe))
    }

    pub fn builder_name(&self) -> String {
        if let Some(n) = self.name.as_deref().filter(|n| !n.is_empty()) {
            return n.to_string();
        }
        std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
            })
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "builder".to_string())
    }

    pub fn edge_base(&self) -> &str {
        self.edge_url.trim_end_matches('/')
    }

    pub fn upstream_base(&self) -> &str {
        self.upstream_url.trim_end_matches('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_stays_within_the_lease() {
        let c = Config::parse_from([
            "builder",
            "--edge-url",
            "http://x",
            "--token",
            "t",
            "--heartbeat-secs",
            "10",
        ]);
        assert_eq!(c.heartbeat(60), Duration::from_secs(10));
        assert_eq!(c.heartbeat(9), Duration::from_secs(3));
        assert_eq!(c.heartbeat(0), Duration::from_secs(1));
        assert_eq!(c.build_timeout(), Duration::from_secs(600));
        assert_eq!(c.upstream_base(), "https://downloads.openwrt.org");
    }
}
