//! The builder takes an ImageBuilder only if it is the one upstream's
//! sha256sums lists, and unpacks it only inside its own folder: a copy of
//! the mirror is tampered with, served, and built from through the real
//! edge and builder.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use integration::http::Answer;
use integration::stack::{mirror_root, scratch, Builder, Edge, Mirror};
use integration::wait::build_to_end;
use serde_json::json;
use sha2::{Digest, Sha256};

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn imagebuilder_in(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("openwrt-imagebuilder-"))
        .unwrap_or_else(|| panic!("no ImageBuilder in {}", dir.display()))
}

/// A ustar header block for `name` (written by hand: the point is a name
/// that well-behaved tar writers refuse to produce).
fn tar_header(name: &str, size: usize, kind: u8) -> [u8; 512] {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[136..147].copy_from_slice(b"14000000000");
    h[156] = kind;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| *b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

/// An xz-compressed tar with a normal-looking ImageBuilder folder and one
/// entry that climbs out of it.
fn escaping_archive(top: &str, escape: &str) -> Vec<u8> {
    let mut tar = Vec::new();
    let mut add = |name: &str, data: &[u8], kind: u8| {
        tar.extend_from_slice(&tar_header(name, data.len(), kind));
        tar.extend_from_slice(data);
        tar.extend(std::iter::repeat_n(0u8, (512 - data.len() % 512) % 512));
    };
    add(&format!("{top}/"), b"", b'5');
    add(&format!("{top}/Makefile"), b"info:\n\t@echo 'Current Revision: \"r1-abc\"'\n", b'0');
    add(&format!("{top}/{escape}"), b"written outside the ImageBuilder folder\n", b'0');
    tar.extend(std::iter::repeat_n(0u8, 1024));
    let mut xz = Command::new("xz").args(["-z", "-c", "-T1"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("xz");
    xz.stdin.take().unwrap().write_all(&tar).unwrap();
    let out = xz.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// Every path below `dir` (files, folders, links).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        out.push(e.path());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&e.path(), out);
        }
    }
}

fn text(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).into_owned()
}

#[tokio::test]
async fn a_tampered_or_escaping_imagebuilder_is_refused_and_nothing_is_unpacked() {
    let dir = scratch("ib-integrity");
    let tree = dir.join("mirror-copy");
    copy_tree(mirror_root(), &tree);

    // 24.10.5 mediatek/filogic: the archive is swapped for other bytes (a
    // real ImageBuilder of another target), sha256sums still names the original.
    let filogic24 = tree.join("releases/24.10.5/targets/mediatek/filogic");
    let listed = imagebuilder_in(&filogic24);
    let listed_sha = sha_hex(&std::fs::read(&listed).unwrap());
    let other = std::fs::read(imagebuilder_in(&tree.join("releases/23.05.4/targets/x86/64"))).unwrap();
    std::fs::write(&listed, &other).unwrap();
    let sums = std::fs::read_to_string(filogic24.join("sha256sums")).unwrap();
    assert!(sums.contains(&listed_sha), "sha256sums should list the original archive");

    // 23.05.4 mediatek/filogic: an archive with an entry that climbs out,
    // and sha256sums updated to match it (a compromised upstream).
    let filogic23 = tree.join("releases/23.05.4/targets/mediatek/filogic");
    let archive23 = imagebuilder_in(&filogic23);
    let top = archive23.file_name().unwrap().to_string_lossy().trim_end_matches(".tar.xz").to_string();
    let escape_name = format!("escaped-{}", std::process::id());
    let evil = escaping_archive(&top, &format!("../../../../{escape_name}"));
    let old_sha = sha_hex(&std::fs::read(&archive23).unwrap());
    std::fs::write(&archive23, &evil).unwrap();
    let sums23 = std::fs::read_to_string(filogic23.join("sha256sums")).unwrap();
    assert!(sums23.contains(&old_sha));
    std::fs::write(filogic23.join("sha256sums"), sums23.replace(&old_sha, &sha_hex(&evil))).unwrap();

    let mirror = Mirror::serve(&tree, &dir);
    let edge = Edge::start(Edge::config(&mirror.url, &dir), &dir);
    let config = Builder::config(&edge, &dir);
    let cache = config.cache_dir.clone();
    let _builder = Builder::start(&config, "builder-1", &dir);

    let request = |version: &str, target: &str, profile: &str| {
        json!({"version": version, "target": target, "profile": profile, "packages": ["luci"]})
    };
    let (swapped, _) = build_to_end(&edge.url, &request("24.10.5", "mediatek/filogic", "glinet,gl-mt6000"), Duration::from_secs(180)).await;
    assert_eq!(swapped.status, 500, "{}", text(&swapped));
    let detail = swapped.detail();
    assert!(detail.starts_with("Error: "), "{detail}");
    assert!(detail.contains("does not match sha256sums") && detail.contains(&listed_sha), "{detail}");
    assert!(detail.contains(&sha_hex(&other)), "the detail should name the sha256 received: {detail}");

    let (escaping, _) = build_to_end(&edge.url, &request("23.05.4", "mediatek/filogic", "glinet,gl-mt6000"), Duration::from_secs(180)).await;
    assert_eq!(escaping.status, 500, "{}", text(&escaping));
    let detail = escaping.detail();
    assert!(detail.starts_with("Error: Could not unpack the ImageBuilder") && detail.contains("leaves its folder"), "{detail}");

    // Nothing of either archive is in use or left anywhere.
    assert!(!cache.join("24.10.5/mediatek/filogic").exists(), "the swapped archive was installed");
    assert!(!cache.join("23.05.4/mediatek/filogic").exists(), "the escaping archive was installed");
    let mut everything = Vec::new();
    walk(&dir, &mut everything);
    let escaped: Vec<&PathBuf> = everything.iter().filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy() == escape_name)).collect();
    assert!(escaped.is_empty(), "an archive entry was written outside its folder: {escaped:?}");
    for p in [dir.join(&escape_name), cache.join(&escape_name), cache.parent().unwrap().join(&escape_name)] {
        assert!(!p.exists(), "{}", p.display());
    }
    let scratch_left: Vec<PathBuf> = std::fs::read_dir(cache.join(".tmp")).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    assert!(scratch_left.is_empty(), "download or unpack leftovers: {scratch_left:?}");

    // The untouched target of the same mirror still builds: the refusals were about the archives.
    let (fine, _) = build_to_end(&edge.url, &request("23.05.4", "x86/64", "generic"), Duration::from_secs(180)).await;
    assert_eq!(fine.status, 200, "{}", text(&fine));
}
