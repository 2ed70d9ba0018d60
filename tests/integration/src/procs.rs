//! Child processes of a test: each runs in its own process group so that
//! killing it also ends what it started (wrangler starts workerd). Every
//! group is killed when the test binary exits, and its id is written to
//! `ASU_TEST_PIDS_DIR` so the test script can clean up after a crash.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static AT_EXIT: Once = Once::new();

extern "C" fn kill_all_groups() {
    if let Ok(groups) = GROUPS.lock() {
        for pgid in groups.iter() {
            unsafe { libc::kill(-pgid, libc::SIGKILL) };
        }
    }
}

/// A running child process group, killed on drop.
pub struct Proc {
    pub name: String,
    child: Child,
    pub log_path: std::path::PathBuf,
}

impl Proc {
    /// Starts `cmd` with stdout and stderr going to `log_dir/<name>.log`.
    pub fn spawn(name: &str, mut cmd: Command, log_dir: &Path) -> Proc {
        AT_EXIT.call_once(|| unsafe {
            libc::atexit(kill_all_groups);
        });
        std::fs::create_dir_all(log_dir).unwrap();
        let log_path = log_dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        cmd.stdin(Stdio::null()).stdout(log.try_clone().unwrap()).stderr(log).process_group(0);
        let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let pgid = child.id() as i32;
        GROUPS.lock().unwrap().push(pgid);
        if let Ok(dir) = std::env::var("ASU_TEST_PIDS_DIR") {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(Path::new(&dir).join(pgid.to_string()), name);
        }
        Proc { name: name.into(), child, log_path }
    }

    /// Waits until the log contains `needle`; returns the line. Panics
    /// with the log's tail if the process dies or time runs out.
    pub fn wait_for_line(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let file = std::fs::File::open(&self.log_path).unwrap();
            if let Some(line) = BufReader::new(file).lines().map_while(Result::ok).find(|l| l.contains(needle)) {
                return line;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}) before printing {needle:?}:\n{}", self.name, self.log_tail());
            }
            if Instant::now() > deadline {
                panic!("{} did not print {needle:?} within {timeout:?}:\n{}", self.name, self.log_tail());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let start = text.len().saturating_sub(4000);
        text[text.floor_char_boundary(start)..].to_string()
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the whole group at once, like a crash or `kill -9`.
    pub fn kill(&mut self) {
        let pgid = self.child.id() as i32;
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
        GROUPS.lock().unwrap().retain(|g| *g != pgid);
        if let Ok(dir) = std::env::var("ASU_TEST_PIDS_DIR") {
            let _ = std::fs::remove_file(Path::new(&dir).join(pgid.to_string()));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
