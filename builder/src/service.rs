//! The lease loop: ask the edge for work, run it, never give up on errors.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Config;
use crate::edge::Edge;
use crate::ibcache::IbCache;
use crate::job::{run_job, Ctx};
use crate::jobcheck::is_request_hash;
use crate::log;

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Sets up the shared state. CACHE_DIR and WORK_DIR belong to this one
/// process: leftovers of an earlier run are removed here.
pub fn context(cfg: Config) -> std::io::Result<Arc<Ctx>> {
    std::fs::create_dir_all(&cfg.work_dir)?;
    // Builds a crashed predecessor left running would hold the ImageBuilder
    // folders and CPU for up to their time limit (or forever, if hung).
    for pgid in crate::leftovers::end_all(&cfg.work_dir.join(crate::leftovers::RECORDS)) {
        log!("ended process group {pgid} left running by an earlier builder");
    }
    for entry in std::fs::read_dir(&cfg.work_dir)?.flatten() {
        if entry.file_name().to_str().is_some_and(is_request_hash) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let cache = IbCache::new(cfg.cache_dir.clone(), cfg.upstream_base().to_string())?;
    let edge = Edge::new(cfg.edge_base(), &cfg.token).map_err(std::io::Error::other)?;
    Ok(Arc::new(Ctx { cfg, edge, cache }))
}

/// Sleeps `d`; returns true early if shutdown was asked for.
async fn sleep_or_stop(d: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    if *shutdown.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *shutdown.borrow(),
        r = shutdown.changed() => r.is_err() || *shutdown.borrow(),
    }
}

/// One worker: leases and runs jobs one after another until shutdown.
pub async fn worker(ctx: Arc<Ctx>, name: String, mut shutdown: watch::Receiver<bool>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        if *shutdown.borrow() {
            return;
        }
        let leased = tokio::select! {
            r = ctx.edge.lease(&name) => r,
            _ = shutdown.changed() => return,
        };
        match leased {
            Ok(Some(job)) => {
                backoff = Duration::from_secs(1);
                run_job(ctx.clone(), job, shutdown.clone()).await;
            }
            Ok(None) => {
                backoff = Duration::from_secs(1);
                if sleep_or_stop(ctx.cfg.poll_interval(), &mut shutdown).await {
                    return;
                }
            }
            Err(e) => {
                log!("lease failed: {e}; retrying in {}s", backoff.as_secs());
                if sleep_or_stop(backoff, &mut shutdown).await {
                    return;
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
