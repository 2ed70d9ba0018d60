//! A virtual OpenWrt router: rpcd JSON-RPC over HTTP (`/ubus`), cgi-io
//! uploads, a LuCI-like login and attended-sysupgrade page, and a flash
//! that "reboots" into the uploaded stand-in image.
//!
//! While it reboots, every new TCP connection is accepted and closed at
//! once without an answer (clients see a reset / empty reply); keep-alive
//! is off, so no older connection can carry a request into that window.

pub mod firmware;
pub mod rpc;
pub mod web;

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Sessions expire after this many idle seconds, like rpcd's default.
pub const SESSION_TIMEOUT: u64 = 300;
pub const ANONYMOUS_SESSION: &str = "00000000000000000000000000000000";
pub const FIRMWARE_PATH: &str = "/tmp/firmware.bin";
/// Delay between `upgrade_start`/`sysupgrade` and the reboot.
pub const FLASH_DELAY: Duration = Duration::from_secs(2);

/// What survives a reboot (and, with --state-file, a restart): the
/// installed firmware and its packages.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BoardFile {
    /// The `system board` answer.
    pub board: serde_json::Value,
    /// Device compat version (uci system.@system[0].compat_version).
    #[serde(default = "default_compat")]
    pub compat_version: String,
    /// Whether /sys/firmware/efi exists.
    #[serde(default)]
    pub efi: bool,
    /// Whether sysupgrade refuses images whose metadata does not list this
    /// board (REQUIRE_IMAGE_METADATA: set on most targets, not on x86).
    #[serde(default = "yes")]
    pub require_image_metadata: bool,
    pub packages: Packages,
    /// The last image flashed (not something rpcd tells; the state file
    /// records it so tests can check which bytes the router received).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flashed_image: Option<FlashedImage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FlashedImage {
    pub sha256: String,
    pub size: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Packages {
    /// Top-level packages (`rpc-sys packagelist {"all":false}`).
    pub world: BTreeMap<String, String>,
    /// Everything installed (`all:true`).
    pub all: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

fn default_compat() -> String {
    "1.0".into()
}

impl BoardFile {
    pub fn board_name(&self) -> String {
        self.board
            .get("board_name")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub username: String,
    pub last_used: Instant,
}

/// A file in the router's RAM (/tmp).
#[derive(Debug, Clone)]
pub struct TmpFile {
    pub data: Vec<u8>,
    pub mode: u32,
    pub mtime: u64,
}

#[derive(Debug)]
pub struct Inner {
    pub persistent: BoardFile,
    pub sessions: HashMap<String, Session>,
    pub tmp: BTreeMap<String, TmpFile>,
    pub rebooting: bool,
    /// A flash is scheduled; further upgrade calls are refused.
    pub flashing: bool,
    pub booted_at: Instant,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub server_url: String,
    pub password: String,
    pub reboot_seconds: u64,
    pub state_file: Option<PathBuf>,
    /// Replaces the built-in attended-sysupgrade page template.
    pub page_template: Option<String>,
    /// The router's /www: `luci-static/` below it is served (LuCI packages' htdocs).
    pub www_dir: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct RouterState {
    pub config: Arc<Config>,
    pub inner: Arc<Mutex<Inner>>,
}

pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 32 lowercase hex characters from the kernel's random source.
fn new_session_id() -> String {
    use std::io::Read;
    let mut b = [0u8; 16];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        if f.read_exact(&mut b).is_ok() {
            return hex::encode(b);
        }
    }
    // No /dev/urandom: hash the clock and a counter (test router only).
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = Sha256::new();
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    h.update(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
            .to_be_bytes(),
    );
    hex::encode(h.finalize())[..32].to_string()
}

impl RouterState {
    /// Starts from the state file if it exists, else from the board file.
    pub fn new(board: BoardFile, config: Config) -> std::io::Result<Self> {
        let persistent = match &config.state_file {
            Some(p) if p.exists() => {
                let text = std::fs::read_to_string(p)?;
                serde_json::from_str(&text).map_err(|e| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("{}: {e}", p.display()),
                    )
                })?
            }
            _ => board,
        };
        let state = RouterState {
            config: Arc::new(config),
            inner: Arc::new(Mutex::new(Inner {
                persistent,
                sessions: HashMap::new(),
                tmp: BTreeMap::new(),
                rebooting: false,
                flashing: false,
                booted_at: Instant::now(),
            })),
        };
        state.save()?;
        Ok(state)
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn save(&self) -> std::io::Result<()> {
        let Some(path) = &self.config.state_file else {
            return Ok(());
        };
        let text = serde_json::to_string_pretty(&self.lock().persistent).expect("state serialises");
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text + "\n")?;
        std::fs::rename(&tmp, path)
    }

    pub fn is_rebooting(&self) -> bool {
        self.lock().rebooting
    }

    /// `session login`: a new session for root with the right password.
    pub fn login(&self, username: &str, password: &str) -> Option<String> {
        if username != "root" || password != self.config.password {
            return None;
        }
        let sid = new_session_id();
        self.lock().sessions.insert(
            sid.clone(),
            Session {
                username: username.into(),
                last_used: Instant::now(),
            },
        );
        Some(sid)
    }

    /// True for a live session (and refreshes its timeout).
    pub fn touch_session(&self, sid: &str) -> bool {
        let mut inner = self.lock();
        let timeout = Duration::from_secs(SESSION_TIMEOUT);
        inner
            .sessions
            .retain(|_, s| s.last_used.elapsed() < timeout);
        match inner.sessions.get_mut(sid) {
            Some(s) => {
                s.last_used = Instant::now();
                true
            }
            None => false,
        }
    }

    pub fn destroy_session(&self, sid: &str) -> bool {
        self.lock().sessions.remove(sid).is_some()
    }

    /// Schedules the flash of /tmp/firmware.bin: after FLASH_DELAY the
    /// router goes down for `reboot_seconds`, then comes back running the
    /// image. Returns false if a flash is already under way.
    pub fn schedule_flash(
        &self,
        image: Vec<u8>,
        body_len: usize,
        meta: Option<asu_protocol::fwtool::FwMetadata>,
    ) -> bool {
        {
            let mut inner = self.lock();
            if inner.flashing {
                return false;
            }
            inner.flashing = true;
        }
        let state = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(FLASH_DELAY).await;
            {
                let mut inner = state.lock();
                inner.rebooting = true;
                inner.sessions.clear();
                inner.tmp.clear();
                inner.persistent.flashed_image = Some(FlashedImage {
                    sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&image)),
                    size: image.len(),
                });
                apply_image(
                    &mut inner.persistent,
                    &image[..body_len.min(image.len())],
                    meta.as_ref(),
                );
            }
            if let Err(e) = state.save() {
                eprintln!("virtual-router: cannot save state: {e}");
            }
            eprintln!(
                "virtual-router: flashing, rebooting for {} s",
                state.config.reboot_seconds
            );
            tokio::time::sleep(Duration::from_secs(state.config.reboot_seconds)).await;
            let mut inner = state.lock();
            inner.rebooting = false;
            inner.flashing = false;
            inner.booted_at = Instant::now();
            eprintln!("virtual-router: up again");
        });
        true
    }
}

/// Boots into an image: release from the trailer, packages from the body.
pub fn apply_image(
    p: &mut BoardFile,
    body: &[u8],
    meta: Option<&asu_protocol::fwtool::FwMetadata>,
) {
    if let Some(m) = meta {
        let release = &mut p.board["release"];
        if !release.is_object() {
            *release = serde_json::json!({});
        }
        release["distribution"] = m.version.dist.clone().into();
        release["version"] = m.version.version.clone().into();
        release["revision"] = m.version.revision.clone().into();
        release["target"] = m.version.target.clone().into();
        release["description"] = format!(
            "{} {} {}",
            m.version.dist, m.version.version, m.version.revision
        )
        .into();
    }
    if let Some(b) = firmware::ImageBody::parse(body) {
        if let Some(k) = b.kernel_release() {
            p.board["kernel"] = k.into();
        }
        if b.source_date_epoch > 0 {
            p.board["release"]["builddate"] = b.source_date_epoch.to_string().into();
        }
        p.packages = Packages {
            world: b.world_packages(),
            all: b.installed.clone(),
        };
    }
}

/// Serves the router on `listener` until the process ends. Connections
/// are handled one request each (no keep-alive); while rebooting they are
/// closed without an answer.
pub async fn serve(listener: TcpListener, state: RouterState) -> std::io::Result<()> {
    let app = web::app(state.clone());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("virtual-router: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if state.is_rebooting() {
            drop(stream);
            continue;
        }
        let svc = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .serve_connection(io, svc)
                .await;
        });
    }
}
