//! Shared helpers: one generated mirror per test run, unpacked
//! ImageBuilders, `make`, a plain Packages reader and a tiny HTTP client.
//! The helpers read files with their own simple code (not the crate's
//! parsers) so the tests check the crate against something independent.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

pub fn fixtures() -> PathBuf {
    standins::fixtures::default_fixture_root()
}

pub fn ib_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_imagebuilder-standin"))
}

/// The generated mirror, built once per test run and cached across runs
/// (archives are only rebuilt when their inputs change).
pub fn mirror() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("standins-mirror");
        let opts = standins::mirror::GenerateOptions {
            fixtures: fixtures(),
            imagebuilder_bin: ib_bin(),
            out: out.clone(),
        };
        standins::mirror::generate(&opts).expect("mirror generates");
        out
    })
}

/// An unpacked ImageBuilder (shared between tests; builds use their own BIN_DIR).
pub fn imagebuilder(release: &str, target: &str) -> PathBuf {
    static UNPACKED: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let map = UNPACKED.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = map.lock().unwrap();
    let key = format!("{release}/{target}");
    if let Some(p) = map.get(&key) {
        return p.clone();
    }
    let tdir = mirror()
        .join("releases")
        .join(release)
        .join("targets")
        .join(target);
    let archive = std::fs::read_dir(&tdir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("openwrt-imagebuilder-")
        })
        .expect("archive present");
    let dest = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("standins-ib")
        .join(key.replace('/', "_"));
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::create_dir_all(&dest).unwrap();
    let flag = if archive.to_string_lossy().ends_with(".zst") {
        "--zstd"
    } else {
        "-J"
    };
    let st = Command::new("tar")
        .arg(flag)
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&dest)
        .status()
        .unwrap();
    assert!(st.success(), "tar failed for {}", archive.display());
    let top = std::fs::read_dir(&dest)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    map.insert(key, top.clone());
    top
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// `make <args>` in `dir`, arguments passed as a vector.
pub fn make(dir: &Path, args: &[&str]) -> Run {
    make_env(dir, args, &[])
}

pub fn make_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new("make");
    cmd.arg("-s").args(args).current_dir(dir);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("make runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// name -> (version, provides, depends) from a Packages file, read line by line.
pub fn read_packages(path: &Path) -> BTreeMap<String, (String, Vec<String>, Vec<String>)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for block in text.split("\n\n") {
        let mut name = None;
        let mut version = String::new();
        let mut provides = Vec::new();
        let mut depends = Vec::new();
        for line in block.lines() {
            let list = |v: &str| {
                v.split(',')
                    .map(|s| s.trim().split(' ').next().unwrap().to_string())
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
            };
            if let Some(v) = line.strip_prefix("Package: ") {
                name = Some(v.to_string());
            } else if let Some(v) = line.strip_prefix("Version: ") {
                version = v.to_string();
            } else if let Some(v) = line.strip_prefix("Provides: ") {
                provides = list(v);
            } else if let Some(v) = line.strip_prefix("Depends: ") {
                depends = list(v);
            }
        }
        if let Some(n) = name {
            out.insert(n, (version, provides, depends));
        }
    }
    out
}

/// sha256 of a file with the coreutils tool, independent of the crate.
pub fn sha256sum_cli(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

pub fn md5sum_cli(path: &Path) -> String {
    let out = Command::new("md5sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// One HTTP/1.1 request with `Connection: close`; Err if the connection
/// fails or closes without an answer.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no HTTP answer"))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(2).position(|w| w == b"\r\n") {
        let n =
            usize::from_str_radix(std::str::from_utf8(&b[..i]).unwrap().trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[i + 2..i + 2 + n]);
        b = &b[i + 2 + n + 2..];
    }
    out
}

/// A spawned stand-in server that is killed when dropped.
pub struct Server {
    pub child: std::process::Child,
    pub addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bin args...` and waits for its `listening on http://..` line.
pub fn spawn_server(bin: &str, args: &[&str]) -> Server {
    use std::io::BufRead;
    let mut child = Command::new(bin)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("server starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    Server { child, addr }
}
