//! Runs one command (make) the safe way: an argument vector, never a shell;
//! an empty environment but PATH, HOME and LANG; stdin from /dev/null; its
//! own process group, killed as a whole on timeout or cancellation.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::watch;

/// Bytes of each stream kept for classifying failures.
pub const SCAN_LIMIT: usize = 8 * 1024 * 1024;
/// Bytes of each stream reported to clients.
pub const TAIL_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct RunSpec {
    pub program: String,
    pub args: Vec<String>,
    pub cwd: PathBuf,
    pub path_env: String,
    pub home: PathBuf,
    pub timeout: Duration,
    /// Where the run's process group is recorded while it runs, so that a
    /// builder restarted after a crash can end it (see `leftovers`).
    pub track_dir: Option<PathBuf>,
}

impl RunSpec {
    /// The argv as recorded in `build_cmd`.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.program.clone())
            .chain(self.args.iter().cloned())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitKind {
    /// Exit code (None: killed by a signal from elsewhere).
    Exited(Option<i32>),
    TimedOut,
    Cancelled,
}

#[derive(Debug, Clone)]
pub struct RunOutput {
    pub exit: ExitKind,
    /// The last [`SCAN_LIMIT`] bytes of each stream, lossy UTF-8.
    pub stdout: String,
    pub stderr: String,
}

impl RunOutput {
    pub fn success(&self) -> bool {
        self.exit == ExitKind::Exited(Some(0))
    }
}

/// The last `limit` bytes of `s`, cut at a character boundary.
pub fn tail(s: &str, limit: usize) -> String {
    if s.len() <= limit {
        return s.to_string();
    }
    let mut start = s.len() - limit;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    s[start..].to_string()
}

/// Keeps the last `limit` bytes read from `r`.
async fn read_tail<R: AsyncRead + Unpin>(mut r: R, limit: usize) -> Vec<u8> {
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                kept.extend_from_slice(&buf[..n]);
                if kept.len() > 2 * limit {
                    kept.drain(..kept.len() - limit);
                }
            }
        }
    }
    if kept.len() > limit {
        kept.drain(..kept.len() - limit);
    }
    kept
}

fn kill_group(pgid: u32) {
    if pgid == 0 {
        return;
    }
    // The child called setpgid(0, 0), so its pid is the group id.
    unsafe {
        libc::kill(-(pgid as libc::pid_t), libc::SIGKILL);
    }
}

/// Kills the group when dropped, so that a run abandoned mid-way (its
/// future dropped) leaves nothing behind either; then forgets its record.
struct GroupGuard(u32, Option<PathBuf>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0);
        if let Some(record) = self.1.take() {
            let _ = std::fs::remove_file(record);
        }
    }
}

/// Runs `spec`; `cancel` turning true kills the process group early.
pub async fn run(spec: &RunSpec, mut cancel: watch::Receiver<bool>) -> std::io::Result<RunOutput> {
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .env_clear()
        .env("PATH", &spec.path_env)
        .env("HOME", &spec.home)
        .env("LANG", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = cmd.spawn()?;
    let pgid = child.id().unwrap_or(0);
    let record = match &spec.track_dir {
        Some(dir) if pgid != 0 => crate::leftovers::record(dir, pgid, &spec.cwd).ok(),
        _ => None,
    };
    let group = GroupGuard(pgid, record);
    let out = tokio::spawn(read_tail(child.stdout.take().expect("piped"), SCAN_LIMIT));
    let err = tokio::spawn(read_tail(child.stderr.take().expect("piped"), SCAN_LIMIT));

    let cancelled = async {
        loop {
            if *cancel.borrow_and_update() {
                return;
            }
            if cancel.changed().await.is_err() {
                // Sender gone: nobody can cancel any more.
                std::future::pending::<()>().await;
            }
        }
    };

    let exit = tokio::select! {
        status = child.wait() => ExitKind::Exited(status?.code()),
        _ = tokio::time::sleep(spec.timeout) => ExitKind::TimedOut,
        _ = cancelled => ExitKind::Cancelled,
    };
    // Also on a normal exit: anything make left running in the background
    // would otherwise keep the pipes open and outlive the job.
    drop(group);
    let _ = child.wait().await;

    let collect = |h: tokio::task::JoinHandle<Vec<u8>>| async move {
        match tokio::time::timeout(Duration::from_secs(5), h).await {
            Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
            _ => String::new(),
        }
    };
    let stdout = collect(out).await;
    let stderr = collect(err).await;
    Ok(RunOutput {
        exit,
        stdout,
        stderr,
    })
}

/// `make` argument builders. Each variable is one argv element, so a package
/// list with spaces stays one argument and never meets a shell.
pub mod make_args {
    use super::*;

    pub fn info() -> Vec<String> {
        vec!["info".into()]
    }

    pub fn manifest(profile: &str, packages: &[String]) -> Vec<String> {
        vec![
            "manifest".into(),
            format!("PROFILE={profile}"),
            format!("PACKAGES={}", packages.join(" ")),
            "STRIP_ABI=1".into(),
        ]
    }

    pub struct ImageArgs<'a> {
        pub profile: &'a str,
        pub packages: &'a [String],
        pub bin_dir: &'a Path,
        pub files: Option<&'a Path>,
        pub rootfs_size_mb: Option<u32>,
        pub extra_image_name: Option<&'a str>,
    }

    pub fn image(a: &ImageArgs<'_>) -> Vec<String> {
        let mut v = vec![
            "image".to_string(),
            format!("PROFILE={}", a.profile),
            format!("PACKAGES={}", a.packages.join(" ")),
        ];
        if let Some(extra) = a.extra_image_name {
            v.push(format!("EXTRA_IMAGE_NAME={extra}"));
        }
        v.push(format!("BIN_DIR={}", a.bin_dir.display()));
        if let Some(files) = a.files {
            v.push(format!("FILES={}", files.display()));
        }
        if let Some(size) = a.rootfs_size_mb {
            v.push(format!("ROOTFS_PARTSIZE={size}"));
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn spec(program: &str, args: &[&str], timeout: Duration) -> RunSpec {
        RunSpec {
            program: program.into(),
            args: args.iter().map(|s| s.to_string()).collect(),
            cwd: std::env::temp_dir(),
            path_env: crate::config::DEFAULT_BUILD_PATH.into(),
            home: std::env::temp_dir(),
            timeout,
            track_dir: None,
        }
    }

    fn never_cancel() -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        std::mem::forget(tx);
        rx
    }

    #[test]
    fn package_list_is_one_argument() {
        let pkgs: Vec<String> = ["luci", "-dnsmasq", "kmod-usb3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let v = make_args::manifest("glinet_gl-mt6000", &pkgs);
        assert_eq!(
            v,
            [
                "manifest",
                "PROFILE=glinet_gl-mt6000",
                "PACKAGES=luci -dnsmasq kmod-usb3",
                "STRIP_ABI=1"
            ]
        );
        let bin = Path::new("/w/abc/bin");
        let files = Path::new("/w/abc/files");
        let v = make_args::image(&make_args::ImageArgs {
            profile: "generic",
            packages: &pkgs,
            bin_dir: bin,
            files: Some(files),
            rootfs_size_mb: Some(256),
            extra_image_name: Some("0123456789ab"),
        });
        assert_eq!(v.iter().filter(|a| a.starts_with("PACKAGES=")).count(), 1);
        assert_eq!(
            v,
            [
                "image",
                "PROFILE=generic",
                "PACKAGES=luci -dnsmasq kmod-usb3",
                "EXTRA_IMAGE_NAME=0123456789ab",
                "BIN_DIR=/w/abc/bin",
                "FILES=/w/abc/files",
                "ROOTFS_PARTSIZE=256"
            ]
        );
    }

    #[tokio::test]
    async fn arguments_never_reach_a_shell() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("pwned");
        let hostile = format!(
            "PACKAGES=a b $(touch {m}) `touch {m}`; touch {m}",
            m = marker.display()
        );
        let s = spec(
            "printf",
            &["[%s]\\n", &hostile, "x y"],
            Duration::from_secs(10),
        );
        let out = run(&s, never_cancel()).await.unwrap();
        assert!(out.success(), "{out:?}");
        assert_eq!(out.stdout, format!("[{hostile}]\n[x y]\n"));
        assert!(!marker.exists());
    }

    #[tokio::test]
    async fn environment_is_minimal() {
        std::env::set_var("ASU_SECRET_FOR_TEST", "leak");
        let s = spec("env", &[], Duration::from_secs(10));
        let out = run(&s, never_cancel()).await.unwrap();
        let mut names: Vec<&str> = out
            .stdout
            .lines()
            .filter_map(|l| l.split('=').next())
            .collect();
        names.sort();
        assert_eq!(names, ["HOME", "LANG", "PATH"]);
        assert!(out.stdout.contains("LANG=C\n"));
    }

    fn alive(pid: i32) -> bool {
        // A zombie is dead for our purposes.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z'),
            Err(_) => false,
        }
    }

    #[tokio::test]
    async fn timeout_kills_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        // A grandchild `sleep` that would outlive its parent unless the group dies.
        let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
        let s = spec("bash", &["-c", &script], Duration::from_millis(700));
        let started = Instant::now();
        let out = run(&s, never_cancel()).await.unwrap();
        assert_eq!(out.exit, ExitKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(10));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!alive(pid), "grandchild sleep {pid} survived the timeout");
    }

    #[tokio::test]
    async fn cancellation_kills_early() {
        let (tx, rx) = watch::channel(false);
        let s = spec("sleep", &["300"], Duration::from_secs(600));
        let started = Instant::now();
        let handle = tokio::spawn(async move { run(&s, rx).await.unwrap() });
        tokio::time::sleep(Duration::from_millis(200)).await;
        tx.send(true).unwrap();
        let out = handle.await.unwrap();
        assert_eq!(out.exit, ExitKind::Cancelled);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn dropping_the_run_kills_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
        let s = spec("bash", &["-c", &script], Duration::from_secs(600));
        let run = run(&s, never_cancel());
        // Give it time to start, then drop it unfinished.
        let _ = tokio::time::timeout(Duration::from_millis(700), run).await;
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(!alive(pid), "grandchild sleep {pid} survived");
    }

    #[tokio::test]
    async fn exit_codes_and_output_are_kept() {
        let s = spec(
            "bash",
            &["-c", "echo out; echo err >&2; exit 3"],
            Duration::from_secs(10),
        );
        let out = run(&s, never_cancel()).await.unwrap();
        assert_eq!(out.exit, ExitKind::Exited(Some(3)));
        assert_eq!(out.stdout, "out\n");
        assert_eq!(out.stderr, "err\n");
    }

    #[test]
    fn tail_cuts_at_char_boundary() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("ab", 3), "ab");
        assert_eq!(tail("aé", 1), "");
        assert_eq!(tail("aéb", 2), "b");
    }
}
