//! The program inside each stand-in ImageBuilder archive; its Makefile
//! runs `imagebuilder-standin info|manifest|image` with PROFILE, PACKAGES,
//! BIN_DIR, FILES, EXTRA_IMAGE_NAME, ROOTFS_PARTSIZE, DISABLED_SERVICES and
//! STRIP_ABI in the environment.

use std::io::Write;
use std::path::PathBuf;

fn main() {
    let command = std::env::args().nth(1).unwrap_or_default();
    let topdir = std::env::var_os("TOPDIR")
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."));
    let vars = standins::imagebuilder::Vars::from_env();
    let out = standins::imagebuilder::run(&command, &topdir, &vars);
    let _ = std::io::stdout().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    let _ = std::io::stdout().flush();
    std::process::exit(out.code);
}
