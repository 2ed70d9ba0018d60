//! Builds that outlived their builder. Each `make` runs in its own process
//! group (so a time limit can end all of it), which also means that killing
//! the builder does not end it. While a group runs, a file named after it
//! records where it runs; a builder starting on the same WORK_DIR ends the
//! groups its predecessor left behind.

use std::io;
use std::path::{Path, PathBuf};

/// The folder under WORK_DIR that holds the records.
pub const RECORDS: &str = ".running";

/// The record of a running group: `dir/<pgid>` holding the folder it runs in.
pub fn record(dir: &Path, pgid: u32, cwd: &Path) -> io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(pgid.to_string());
    std::fs::write(&path, cwd.as_os_str().as_encoded_bytes())?;
    Ok(path)
}

/// The process group of a process, from `/proc/<pid>/stat`.
fn pgrp_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name in parentheses: state, ppid, pgrp.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// Whether some live member of group `pgid` runs in (or below) `cwd`: a
/// recorded group id may have been reused by an unrelated process since.
fn group_still_ours(pgid: u32, cwd: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.flatten().any(|e| {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            return false;
        };
        pgrp_of(pid) == Some(pgid)
            && std::fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|dir| dir.starts_with(cwd))
    })
}

/// Kills every recorded group that still runs where it was recorded, and
/// forgets all records. Returns the groups it killed.
pub fn end_all(dir: &Path) -> Vec<u32> {
    let mut killed = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return killed;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let pgid = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|p| *p > 1);
        let cwd = std::fs::read(&path)
            .ok()
            .map(|b| PathBuf::from(String::from_utf8_lossy(&b).into_owned()));
        if let (Some(pgid), Some(cwd)) = (pgid, cwd) {
            if !cwd.as_os_str().is_empty() && group_still_ours(pgid, &cwd) {
                // SAFETY: kill(2) with a negative pid signals that group only.
                unsafe {
                    libc::kill(-(pgid as libc::pid_t), libc::SIGKILL);
                }
                killed.push(pgid);
            }
        }
        let _ = std::fs::remove_file(&path);
    }
    killed
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::time::{Duration, Instant};

    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                !s.rsplit_once(')')
                    .map(|r| r.1.trim_start().starts_with('Z'))
                    .unwrap_or(true)
            })
            .unwrap_or(false)
    }

    #[test]
    fn ends_a_recorded_group_and_its_children_but_not_strangers() {
        let work = tempfile::tempdir().unwrap();
        let ib = tempfile::tempdir().unwrap();
        let records = work.path().join(".running");
        let pidfile = ib.path().join("grandchild");
        // A group whose leader has a child of its own, as make has.
        let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
        let mut leader = std::process::Command::new("bash")
            .args(["-c", &script])
            .current_dir(ib.path())
            .process_group(0)
            .spawn()
            .unwrap();
        let pgid = leader.id();
        record(&records, pgid, ib.path()).unwrap();
        // A record whose group runs elsewhere (a reused id) must not be killed.
        let mut stranger = std::process::Command::new("sleep")
            .arg("300")
            .process_group(0)
            .spawn()
            .unwrap();
        record(&records, stranger.id(), ib.path()).unwrap();

        let deadline = Instant::now() + Duration::from_secs(5);
        while !pidfile.exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let grandchild: u32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();

        assert_eq!(end_all(&records), vec![pgid]);
        let _ = leader.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(grandchild) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(grandchild), "the group's child survived");
        assert!(alive(stranger.id()), "an unrelated process was killed");
        assert_eq!(
            std::fs::read_dir(&records).unwrap().count(),
            0,
            "records are forgotten"
        );
        stranger.kill().unwrap();
        let _ = stranger.wait();
    }
}
