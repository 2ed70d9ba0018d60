//! A virtual OpenWrt router on 127.0.0.1: rpcd JSON-RPC, cgi-io upload,
//! a LuCI-like page that mounts the attended-sysupgrade app.

use clap::Parser;
use standins::router::{self, BoardFile, Config, RouterState};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "virtual-router",
    about = "Answers like an OpenWrt router's uhttpd/rpcd"
)]
struct Cli {
    /// Board file (system board answer, package lists).
    #[arg(long)]
    board: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The attended-sysupgrade server (uci attendedsysupgrade.server.url).
    #[arg(long)]
    server_url: String,
    /// root's password (default empty, like a fresh OpenWrt).
    #[arg(long, default_value = "")]
    password: String,
    /// How long the router is unreachable after a flash.
    #[arg(long, default_value_t = 5)]
    reboot_seconds: u64,
    /// Keeps the flashed firmware across restarts of this process.
    #[arg(long)]
    state_file: Option<PathBuf>,
    /// Replaces the built-in attended-sysupgrade page template.
    #[arg(long)]
    page_template: Option<PathBuf>,
    /// The router's /www: its `luci-static/` is served, e.g. a LuCI
    /// package's htdocs (frontend/luci-app-asu-rs/htdocs).
    #[arg(long)]
    www: Option<PathBuf>,
}

fn run(cli: Cli) -> Result<(), String> {
    let text =
        std::fs::read_to_string(&cli.board).map_err(|e| format!("{}: {e}", cli.board.display()))?;
    let board: BoardFile =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", cli.board.display()))?;
    let server_url = router::web::check_server_url(&cli.server_url)?;
    let page_template = match &cli.page_template {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => None,
    };
    let config = Config {
        server_url,
        password: cli.password,
        reboot_seconds: cli.reboot_seconds,
        state_file: cli.state_file,
        page_template,
        www_dir: cli.www,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let state = RouterState::new(board, config).map_err(|e| format!("state file: {e}"))?;
        let listener = tokio::net::TcpListener::bind(cli.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", cli.listen))?;
        standins::announce_listening(listener.local_addr().map_err(|e| e.to_string())?);
        router::serve(listener, state)
            .await
            .map_err(|e| e.to_string())
    })
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("virtual-router: {e}");
        std::process::exit(1);
    }
}
