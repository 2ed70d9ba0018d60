//! Starts the parts of the system for a test, each as the real process the
//! README's run command starts: the upstream mirror, the edge under
//! `wrangler dev`, the builder, the virtual router.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::procs::{free_port, Proc};

/// The repository's top folder.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// Where `wrangler dev` runs (wrangler.toml, the built worker): the
/// repository, unless `ASU_EDGE_ROOT` names another tree with a built edge.
pub fn edge_root() -> PathBuf {
    std::env::var_os("ASU_EDGE_ROOT").map(PathBuf::from).unwrap_or_else(repo_root)
}

/// `../shared` beside the repository (CI lays a copy there).
pub fn shared_dir() -> PathBuf {
    std::env::var_os("ASU_SHARED_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("../shared"))
}

/// Where the workspace's binaries are (`cargo build` puts them in target/debug).
pub fn bin(name: &str) -> PathBuf {
    let dir = std::env::var_os("ASU_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/debug"));
    let path = dir.join(name);
    assert!(path.exists(), "{} is missing: run the README's test command (it builds the binaries first)", path.display());
    path
}

/// A fresh folder for one test's state and logs.
pub fn scratch(name: &str) -> PathBuf {
    let base = std::env::var_os("ASU_TEST_STATE").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target/asu-test"));
    let dir = base.join(format!("{name}-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The generated mirror tree, made once per test binary (the generator
/// itself skips archives whose inputs did not change).
pub fn mirror_root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = std::env::var_os("ASU_TEST_STATE").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target/asu-test"));
        let out = base.join("mirror");
        let status = Command::new(bin("upstream-mirror"))
            .arg("generate")
            .arg("--fixtures")
            .arg(shared_dir().join("fixtures/upstream"))
            .arg("--imagebuilder-bin")
            .arg(bin("imagebuilder-standin"))
            .arg("--out")
            .arg(&out)
            .status()
            .expect("run upstream-mirror generate");
        assert!(status.success(), "mirror generation failed");
        out
    })
}

fn listening_url(line: &str) -> String {
    line.split_whitespace().find(|w| w.starts_with("http://")).expect("a URL in the ready line").trim_end_matches('/').to_string()
}

pub struct Mirror {
    pub url: String,
    pub proc: Proc,
}

impl Mirror {
    pub fn start(logs: &Path) -> Mirror {
        Mirror::serve(mirror_root(), logs)
    }

    /// Serves another mirror tree (e.g. a copy a test tampered with).
    pub fn serve(root: &Path, logs: &Path) -> Mirror {
        let mut cmd = Command::new(bin("upstream-mirror"));
        cmd.arg("serve").arg("--root").arg(root).arg("--listen").arg("127.0.0.1:0");
        let mut proc = Proc::spawn("mirror", cmd, logs);
        let url = listening_url(&proc.wait_for_line("listening on", Duration::from_secs(30)));
        Mirror { url, proc }
    }
}

/// Settings of one edge instance.
#[derive(Clone)]
pub struct EdgeConfig {
    pub upstream_url: String,
    pub builder_token: String,
    pub lease_seconds: u32,
    pub max_queue_length: u32,
    pub persist_dir: PathBuf,
    pub port: u16,
    /// More `--var NAME:value` pairs (e.g. REPOSITORY_ALLOW_LIST); empty by default.
    pub extra_vars: Vec<(String, String)>,
}

pub struct Edge {
    pub url: String,
    pub config: EdgeConfig,
    pub proc: Proc,
}

impl Edge {
    pub fn config(upstream_url: &str, state: &Path) -> EdgeConfig {
        EdgeConfig {
            upstream_url: upstream_url.into(),
            builder_token: format!("test-token-{}", free_port()),
            lease_seconds: 60,
            max_queue_length: 200,
            persist_dir: state.join("edge-persist"),
            port: free_port(),
            extra_vars: Vec::new(),
        }
    }

    /// Starts `wrangler dev` on the built worker and waits until it answers.
    pub fn start(config: EdgeConfig, logs: &Path) -> Edge {
        let root = edge_root();
        let mut cmd = Command::new(root.join("node_modules/.bin/wrangler"));
        cmd.current_dir(&root)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CI", "true")
            .arg("dev")
            .args(["--ip", "127.0.0.1"])
            .args(["--port", &config.port.to_string()])
            .args(["--inspector-port", &free_port().to_string()])
            .arg("--persist-to")
            .arg(&config.persist_dir)
            .arg("--show-interactive-dev-session=false")
            .args(["--var", &format!("BUILDER_TOKEN:{}", config.builder_token)])
            .args(["--var", &format!("UPSTREAM_URL:{}", config.upstream_url)])
            .args(["--var", &format!("LEASE_SECONDS:{}", config.lease_seconds)])
            .args(["--var", &format!("MAX_QUEUE_LENGTH:{}", config.max_queue_length)]);
        for (name, value) in &config.extra_vars {
            cmd.args(["--var", &format!("{name}:{value}")]);
        }
        let mut proc = Proc::spawn(&format!("edge-{}", config.port), cmd, logs);
        let url = format!("http://127.0.0.1:{}", config.port);
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if crate::http::blocking_ok(&format!("{url}/api/v1/stats")) {
                break;
            }
            assert!(proc.is_running(), "wrangler dev exited:\n{}", proc.log_tail());
            assert!(Instant::now() < deadline, "wrangler dev did not answer in time:\n{}", proc.log_tail());
            std::thread::sleep(Duration::from_millis(250));
        }
        Edge { url, config, proc }
    }

    /// `POST` builds here; `GET {build_url}/{hash}` polls them.
    pub fn build_url(&self) -> String {
        format!("{}/api/v1/build", self.url)
    }

    /// The test playing this edge's builder, with its token.
    pub fn fake_builder(&self) -> crate::builder_client::FakeBuilder {
        crate::builder_client::FakeBuilder { edge: self.url.clone(), token: self.config.builder_token.clone() }
    }

    /// One status poll of a build.
    pub async fn poll(&self, hash: &str) -> crate::http::Answer {
        crate::http::get(&format!("{}/{hash}", self.build_url())).await
    }

    /// A download from `/store/{hash}/{name}`.
    pub async fn store(&self, hash: &str, name: &str) -> crate::http::Answer {
        crate::http::get(&format!("{}/store/{hash}/{name}", self.url)).await
    }

    /// Stops and starts wrangler dev on the same port and persist folder.
    pub fn restart(self, logs: &Path) -> Edge {
        let config = self.config.clone();
        drop(self);
        Edge::start(config, logs)
    }
}

pub struct BuilderConfig {
    pub edge_url: String,
    pub token: String,
    pub upstream_url: String,
    pub cache_dir: PathBuf,
    pub work_dir: PathBuf,
    pub build_timeout_secs: u32,
}

pub struct Builder {
    pub proc: Proc,
}

impl Builder {
    pub fn config(edge: &Edge, state: &Path) -> BuilderConfig {
        BuilderConfig {
            edge_url: edge.url.clone(),
            token: edge.config.builder_token.clone(),
            upstream_url: edge.config.upstream_url.clone(),
            cache_dir: state.join("builder-cache"),
            work_dir: state.join("builder-work"),
            build_timeout_secs: 120,
        }
    }

    pub fn start(config: &BuilderConfig, name: &str, logs: &Path) -> Builder {
        let mut cmd = Command::new(bin("builder"));
        cmd.env("EDGE_URL", &config.edge_url)
            .env("BUILDER_TOKEN", &config.token)
            .env("UPSTREAM_URL", &config.upstream_url)
            .env("CACHE_DIR", &config.cache_dir)
            .env("WORK_DIR", &config.work_dir)
            .env("BUILD_TIMEOUT_SECS", config.build_timeout_secs.to_string())
            .env("POLL_INTERVAL_MS", "200")
            .env("HEARTBEAT_SECS", "1")
            .env("BUILDER_NAME", name);
        let mut proc = Proc::spawn(name, cmd, logs);
        proc.wait_for_line("builder ready", Duration::from_secs(30));
        Builder { proc }
    }
}

pub struct Router {
    pub url: String,
    pub state_file: PathBuf,
    pub proc: Proc,
}

impl Router {
    /// A virtual router with one of the committed board files.
    pub fn start(board: &str, server_url: &str, state: &Path, logs: &Path) -> Router {
        Router::start_with_board(&repo_root().join("tests/standins/boards").join(board), server_url, state, logs)
    }

    /// A virtual router with any board file, running the router package's own LuCI view.
    pub fn start_with_board(board: &Path, server_url: &str, state: &Path, logs: &Path) -> Router {
        let id = free_port();
        let state_file = state.join(format!("router-state-{id}.json"));
        let mut cmd = Command::new(bin("virtual-router"));
        cmd.arg("--board")
            .arg(board)
            .args(["--listen", "127.0.0.1:0", "--server-url", server_url, "--reboot-seconds", "3"])
            // The router package's own files, as an installed luci-app-asu-rs puts them in /www.
            .arg("--www")
            .arg(repo_root().join("frontend/luci-app-asu-rs/htdocs"))
            .arg("--state-file")
            .arg(&state_file);
        let mut proc = Proc::spawn(&format!("router-{id}"), cmd, logs);
        let url = listening_url(&proc.wait_for_line("listening on", Duration::from_secs(30)));
        Router { url, state_file, proc }
    }
}

/// Runs tests of one binary one at a time where they share a queue.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
