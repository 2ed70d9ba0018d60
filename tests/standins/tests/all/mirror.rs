//! The generated mirror tree: layout, indexes, checksums, caching.

use crate::common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// Every Packages file of a release's target (its arch feeds + target feed).
fn target_index(
    release: &str,
    target: &str,
    arch: &str,
) -> BTreeMap<String, (String, Vec<String>, Vec<String>)> {
    let r = mirror().join("releases").join(release);
    let mut all = read_packages(&r.join("targets").join(target).join("packages/Packages"));
    for feed in ["base", "packages", "luci"] {
        let p = r.join("packages").join(arch).join(feed).join("Packages");
        if p.exists() {
            all.extend(read_packages(&p));
        }
    }
    all
}

fn satisfied(index: &BTreeMap<String, (String, Vec<String>, Vec<String>)>, name: &str) -> bool {
    index.contains_key(name)
        || index
            .values()
            .any(|(_, prov, _)| prov.iter().any(|p| p == name))
}

/// (release, target, arch) of every fixture profiles.json, read directly.
fn fixture_targets() -> Vec<(String, String, String, serde_json::Value)> {
    let mut out = Vec::new();
    let base = fixtures().join("releases");
    for rel in std::fs::read_dir(&base).unwrap().filter_map(Result::ok) {
        let tdir = rel.path().join("targets");
        for t in std::fs::read_dir(&tdir).unwrap().filter_map(Result::ok) {
            for st in std::fs::read_dir(t.path()).unwrap().filter_map(Result::ok) {
                let pj = st.path().join("profiles.json");
                if pj.exists() {
                    let v = json(&pj);
                    out.push((
                        rel.file_name().to_string_lossy().into_owned(),
                        v["target"].as_str().unwrap().to_string(),
                        v["arch_packages"].as_str().unwrap().to_string(),
                        v,
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn every_profile_package_is_in_the_indexes_of_its_release() {
    for (release, target, arch, pj) in fixture_targets() {
        let mut index = target_index(&release, &target, &arch);
        if release == "22.03-SNAPSHOT" {
            // Real indexes; kernel and libc come with the ImageBuilder itself.
            index.extend(read_packages(
                &imagebuilder(&release, &target).join("packages/Packages"),
            ));
        }
        let mut names: BTreeSet<String> = pj["default_packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        for p in pj["profiles"].as_object().unwrap().values() {
            for d in p["device_packages"].as_array().unwrap() {
                names.insert(d.as_str().unwrap().trim_start_matches('-').to_string());
            }
        }
        let missing: Vec<&String> = names.iter().filter(|n| !satisfied(&index, n)).collect();
        assert!(
            missing.is_empty(),
            "{release} {target}: missing {missing:?}"
        );
    }
}

#[test]
fn generated_indexes_are_closed_under_depends() {
    for (release, target, arch, _) in fixture_targets() {
        if release == "22.03-SNAPSHOT" {
            continue;
        }
        let index = target_index(&release, &target, &arch);
        for (name, (_, _, deps)) in &index {
            for d in deps {
                assert!(
                    satisfied(&index, d),
                    "{release} {target}: {name} depends on missing {d}"
                );
            }
        }
    }
}

#[test]
fn user_packages_exist_with_release_specific_versions() {
    let i23 = target_index("23.05.4", "mediatek/filogic", "aarch64_cortex-a53");
    let i24 = target_index("24.10.5", "mediatek/filogic", "aarch64_cortex-a53");
    for p in [
        "luci",
        "luci-base",
        "luci-mod-admin-full",
        "luci-mod-status",
        "luci-app-attendedsysupgrade",
        "rpcd-mod-rpcsys",
        "tcpdump",
        "wireguard-tools",
        "kmod-wireguard",
    ] {
        let (v23, ..) = i23
            .get(p)
            .unwrap_or_else(|| panic!("{p} missing in 23.05.4"));
        let (v24, ..) = i24
            .get(p)
            .unwrap_or_else(|| panic!("{p} missing in 24.10.5"));
        assert_ne!(v23, v24, "{p} has the same version in both releases");
    }
    assert!(i23.contains_key("auc") && !i23.contains_key("owut"));
    assert!(i24.contains_key("owut") && !i24.contains_key("auc"));
    // luci pulls the admin modules in.
    let luci_deps = &i23["luci"].2;
    assert!(luci_deps.iter().any(|d| d == "luci-light"));
    assert!(i23["luci-mod-admin-full"]
        .2
        .iter()
        .any(|d| d == "luci-mod-status"));
    // ABI-suffixed libraries differ between releases.
    assert!(i23.keys().any(|k| k == "libubus20230605"));
    assert!(i24.keys().any(|k| k == "libubus20250102"));
    // Every other arch of 23.05.4 carries the user packages too.
    let x86 = target_index("23.05.4", "x86/64", "x86_64");
    assert!(x86.contains_key("luci") && x86.contains_key("kmod-wireguard"));
}

#[test]
fn index_json_lists_the_packages_without_abi() {
    let dir = mirror().join("releases/24.10.5/packages/aarch64_cortex-a53/base");
    let idx = json(&dir.join("index.json"));
    assert_eq!(idx["version"], 2);
    assert_eq!(idx["architecture"], "aarch64_cortex-a53");
    let pk = read_packages(&dir.join("Packages"));
    let listed = idx["packages"].as_object().unwrap();
    assert_eq!(listed.len(), pk.len());
    assert_eq!(
        listed["libubus"],
        serde_json::Value::String(pk["libubus20250102"].0.clone())
    );
    assert_eq!(
        listed["busybox"],
        serde_json::Value::String(pk["busybox"].0.clone())
    );
    assert!(mirror()
        .join("releases/24.10.5/targets/mediatek/filogic/packages/index.json")
        .exists());
    assert!(!mirror()
        .join("releases/23.05.4/packages/x86_64/base/index.json")
        .exists());
}

#[test]
fn top_level_files() {
    let v = json(&mirror().join(".versions.json"));
    assert_eq!(v["stable_version"], "24.10.5");
    assert_eq!(v["oldstable_version"], "23.05.4");
    assert_eq!(
        v["versions_list"],
        serde_json::json!(["24.10.5", "23.05.4"])
    );
    let t = json(&mirror().join("releases/23.05.4/.targets.json"));
    assert_eq!(
        t,
        serde_json::json!({"ath79/tiny": "mips_24kc", "mediatek/filogic": "aarch64_cortex-a53", "x86/64": "x86_64"})
    );
    let t = json(&mirror().join("releases/22.03-SNAPSHOT/.targets.json"));
    assert_eq!(
        t,
        serde_json::json!({"ath79/generic": "mips_24kc", "x86/64": "x86_64"})
    );
    // The fixtures are copied byte for byte.
    for rel in [
        "releases/23.05.4/targets/mediatek/filogic/profiles.json",
        "releases/22.03-SNAPSHOT/packages/x86_64/base/Packages",
        "releases/24.10.5/.overview.json",
    ] {
        assert_eq!(
            std::fs::read(mirror().join(rel)).unwrap(),
            std::fs::read(fixtures().join(rel)).unwrap(),
            "{rel}"
        );
    }
    let ov = json(&mirror().join("releases/22.03-SNAPSHOT/.overview.json"));
    assert_eq!(ov["release"], "22.03-SNAPSHOT");
    assert!(ov["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == "generic" && p["target"] == "x86/64"));
}

#[test]
fn sha256sums_list_the_archives_and_keep_real_lines() {
    let cases = [
        (
            "22.03-SNAPSHOT",
            "x86/64",
            "openwrt-imagebuilder-22.03-snapshot-x86-64.Linux-x86_64.tar.xz",
        ),
        (
            "23.05.4",
            "mediatek/filogic",
            "openwrt-imagebuilder-23.05.4-mediatek-filogic.Linux-x86_64.tar.xz",
        ),
        (
            "23.05.4",
            "ath79/tiny",
            "openwrt-imagebuilder-23.05.4-ath79-tiny.Linux-x86_64.tar.xz",
        ),
        (
            "23.05.4",
            "x86/64",
            "openwrt-imagebuilder-23.05.4-x86-64.Linux-x86_64.tar.xz",
        ),
        (
            "24.10.5",
            "mediatek/filogic",
            "openwrt-imagebuilder-24.10.5-mediatek-filogic.Linux-x86_64.tar.zst",
        ),
    ];
    for (release, target, name) in cases {
        let dir = mirror()
            .join("releases")
            .join(release)
            .join("targets")
            .join(target);
        let sums = std::fs::read_to_string(dir.join("sha256sums")).unwrap();
        let line = sums
            .lines()
            .find(|l| l.ends_with(&format!(" *{name}")))
            .unwrap_or_else(|| panic!("{name} not in sha256sums"));
        assert_eq!(
            line.split(' ').next().unwrap(),
            sha256sum_cli(&dir.join(name))
        );
        assert_eq!(
            sums.lines()
                .filter(|l| l.contains("openwrt-imagebuilder-"))
                .count(),
            1
        );
        let fixture_sums = fixtures()
            .join("releases")
            .join(release)
            .join("targets")
            .join(target)
            .join("sha256sums");
        if let Ok(real) = std::fs::read_to_string(fixture_sums) {
            for l in real.lines() {
                assert!(sums.lines().any(|s| s == l), "real line {l:?} lost");
            }
        }
    }
}

#[test]
fn archives_have_the_imagebuilder_layout() {
    let ib = imagebuilder("24.10.5", "mediatek/filogic");
    assert_eq!(
        ib.file_name().unwrap(),
        "openwrt-imagebuilder-24.10.5-mediatek-filogic.Linux-x86_64"
    );
    for f in [
        "Makefile",
        "repositories.conf",
        ".config",
        "packages/Packages",
        "staging_dir/host/bin/imagebuilder-standin",
    ] {
        assert!(ib.join(f).exists(), "{f}");
    }
    let conf = std::fs::read_to_string(ib.join("repositories.conf")).unwrap();
    assert!(conf.contains("src/gz openwrt_core https://downloads.openwrt.org/releases/24.10.5/targets/mediatek/filogic/packages"));
    assert!(conf.contains("src/gz openwrt_base https://downloads.openwrt.org/releases/24.10.5/packages/aarch64_cortex-a53/base"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(ib.join("staging_dir/host/bin/imagebuilder-standin"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "stand-in is executable");
}

#[test]
fn regeneration_uses_the_cache_and_archives_are_reproducible() {
    let out = mirror();
    let opts = standins::mirror::GenerateOptions {
        fixtures: fixtures(),
        imagebuilder_bin: ib_bin(),
        out: out.to_path_buf(),
    };
    let report = standins::mirror::generate(&opts).unwrap();
    assert!(
        report.built.is_empty(),
        "nothing changed, yet rebuilt {:?}",
        report.built
    );
    assert_eq!(report.cached.len(), 6);

    // Writing the same archive twice gives the same bytes.
    let files = vec![
        standins::archive::ArchiveFile {
            path: "Makefile".into(),
            mode: 0o644,
            data: b"all:\n".to_vec(),
        },
        standins::archive::ArchiveFile {
            path: "staging_dir/host/bin/x".into(),
            mode: 0o755,
            data: vec![1, 2, 3],
        },
    ];
    let tmp = tempfile::tempdir().unwrap();
    for ext in ["tar.xz", "tar.zst"] {
        let a = tmp.path().join(format!("a.{ext}"));
        let b = tmp.path().join(format!("b.{ext}"));
        standins::archive::write_archive(&a, ext, "top", &files, 1_700_000_000).unwrap();
        standins::archive::write_archive(&b, ext, "top", &files, 1_700_000_000).unwrap();
        assert_eq!(
            std::fs::read(&a).unwrap(),
            std::fs::read(&b).unwrap(),
            "{ext}"
        );
    }
}

#[test]
fn mirror_server_serves_get_and_head() {
    let srv = spawn_server(
        env!("CARGO_BIN_EXE_upstream-mirror"),
        &[
            "serve",
            "--root",
            mirror().to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
    );
    let rel = "releases/24.10.5/targets/mediatek/filogic/openwrt-imagebuilder-24.10.5-mediatek-filogic.Linux-x86_64.tar.zst";
    let on_disk = std::fs::read(mirror().join(rel)).unwrap();
    let get = http(srv.addr, "GET", &format!("/{rel}"), &[], b"").unwrap();
    assert_eq!(get.status, 200);
    assert_eq!(get.body, on_disk);
    let head = http(srv.addr, "HEAD", &format!("/{rel}"), &[], b"").unwrap();
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length").unwrap(),
        on_disk.len().to_string()
    );
    assert!(head.body.is_empty());
    let v = http(srv.addr, "GET", "/.versions.json", &[], b"").unwrap();
    assert_eq!(v.json()["stable_version"], "24.10.5");
    assert_eq!(
        http(srv.addr, "GET", "/releases/nope", &[], b"")
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        http(srv.addr, "GET", "/../etc/passwd", &[], b"")
            .unwrap()
            .status,
        404
    );
    assert_eq!(
        http(srv.addr, "GET", "/.standin-cache/", &[], b"")
            .unwrap()
            .status,
        404
    );
    let listing = http(srv.addr, "GET", "/releases/", &[], b"").unwrap();
    assert!(listing.text().contains("23.05.4/"));
}

#[test]
fn test_knobs_are_in_the_upstream_indexes_like_any_package() {
    // The edge checks requested names against upstream indexes before it
    // queues a build, so the knobs must be listed there, not only inside
    // the ImageBuilder.
    for (release, target, arch) in [
        ("23.05.4", "mediatek/filogic", "aarch64_cortex-a53"),
        ("23.05.4", "x86/64", "x86_64"),
        ("24.10.5", "mediatek/filogic", "aarch64_cortex-a53"),
    ] {
        let index = target_index(release, target, arch);
        for knob in ["standin-hang", "standin-slow"] {
            assert!(
                index.contains_key(knob),
                "{knob} missing in {release} {target}"
            );
        }
    }
    let idx = json(&mirror().join("releases/24.10.5/packages/aarch64_cortex-a53/base/index.json"));
    for knob in ["standin-hang", "standin-slow"] {
        assert!(
            idx["packages"][knob].is_string(),
            "{knob} missing in 24.10.5 index.json"
        );
    }
}
