//! Generates a downloads.openwrt.org-like tree from the fixtures and serves
//! it on 127.0.0.1.

use clap::{Args, Parser, Subcommand};
use standins::{boardgen, fixtures::Fixtures, mirror};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "upstream-mirror",
    about = "Local stand-in for the OpenWrt download server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct GenArgs {
    /// The fixture tree (shared/fixtures/upstream).
    #[arg(long)]
    fixtures: PathBuf,
    /// The imagebuilder-standin binary to pack into every archive
    /// (default: next to this program).
    #[arg(long)]
    imagebuilder_bin: Option<PathBuf>,
    /// Output folder (created; regenerated in place, archives cached).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Build the mirror tree.
    Generate(GenArgs),
    /// Serve a tree (--root), or generate one and serve it (--fixtures ... --out ...).
    Serve {
        #[arg(long, conflicts_with_all = ["fixtures", "out"])]
        root: Option<PathBuf>,
        #[arg(long, requires = "out")]
        fixtures: Option<PathBuf>,
        #[arg(long)]
        imagebuilder_bin: Option<PathBuf>,
        #[arg(long)]
        out: Option<PathBuf>,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
    /// Write a virtual-router board file (default: GL.iNet GL-MT6000 on 23.05.4).
    BoardFile {
        #[arg(long)]
        fixtures: PathBuf,
        #[arg(long, default_value = "23.05.4")]
        release: String,
        #[arg(long, default_value = "mediatek/filogic")]
        target: String,
        #[arg(long, default_value = "glinet_gl-mt6000")]
        profile: String,
        /// Packages on top of the defaults (space separated).
        #[arg(
            long,
            default_value = "luci luci-app-attendedsysupgrade tcpdump wireguard-tools"
        )]
        packages: String,
        /// CPU line of `system board`.
        #[arg(long, default_value = "ARMv8 Processor rev 4")]
        system: String,
        #[arg(long, default_value = "squashfs")]
        rootfs_type: String,
        /// The board boots with EFI (/sys/firmware/efi exists).
        #[arg(long)]
        efi: bool,
        /// board_name to report (default: the profile's first supported device).
        #[arg(long)]
        board_name: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
}

fn default_ib_bin() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.join("imagebuilder-standin")))
        .unwrap_or_else(|| PathBuf::from("imagebuilder-standin"))
}

fn generate(fixtures: PathBuf, bin: Option<PathBuf>, out: PathBuf) -> Result<(), String> {
    let opts = mirror::GenerateOptions {
        fixtures,
        imagebuilder_bin: bin.unwrap_or_else(default_ib_bin),
        out,
    };
    let started = std::time::Instant::now();
    let report =
        mirror::generate(&opts).map_err(|e| format!("generating the mirror failed: {e}"))?;
    eprintln!(
        "upstream-mirror: tree ready in {} ({} archives built, {} up to date, {:.1} s)",
        opts.out.display(),
        report.built.len(),
        report.cached.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    let res = match cli.command {
        Command::Generate(a) => generate(a.fixtures, a.imagebuilder_bin, a.out),
        Command::Serve {
            root,
            fixtures,
            imagebuilder_bin,
            out,
            listen,
        } => {
            let root = match (root, fixtures, out) {
                (Some(r), _, _) => Ok(r),
                (None, Some(f), Some(o)) => generate(f, imagebuilder_bin, o.clone()).map(|_| o),
                _ => Err("serve needs --root <dir>, or --fixtures <dir> --out <dir>".to_string()),
            };
            root.and_then(|root| {
                if !root.is_dir() {
                    return Err(format!("{} is not a folder", root.display()));
                }
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())?;
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind(listen)
                        .await
                        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
                    standins::announce_listening(listener.local_addr().map_err(|e| e.to_string())?);
                    standins::serve::serve(listener, root)
                        .await
                        .map_err(|e| e.to_string())
                })
            })
        }
        Command::BoardFile {
            fixtures,
            release,
            target,
            profile,
            packages,
            system,
            rootfs_type,
            efi,
            board_name,
            out,
        } => {
            let mut spec = boardgen::gl_mt6000_spec();
            spec.release = release;
            spec.target = target;
            spec.profile = profile;
            spec.user_packages = packages.split_whitespace().map(str::to_string).collect();
            spec.system = system;
            spec.rootfs_type = rootfs_type;
            spec.efi = efi;
            spec.board_name = board_name;
            boardgen::board_file(&Fixtures::new(fixtures), &spec)
                .map_err(|e| e.to_string())
                .and_then(|b| {
                    let text = serde_json::to_string_pretty(&b).expect("board serialises") + "\n";
                    std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))
                })
        }
    };
    if let Err(e) = res {
        eprintln!("upstream-mirror: {e}");
        std::process::exit(1);
    }
}
