//! The stand-in ImageBuilder driven through its real Makefile with GNU make.

use crate::common::*;
use std::path::Path;

fn bin_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn arg(k: &str, v: &str) -> String {
    format!("{k}={v}")
}

/// (length of the body, metadata JSON) read from the trailer by hand.
fn split_trailer(img: &[u8]) -> (usize, serde_json::Value) {
    let t = &img[img.len() - 16..];
    assert_eq!(&t[0..4], b"FWx0");
    assert_eq!(t[8], 1, "metadata chunk");
    let size = u32::from_be_bytes([t[12], t[13], t[14], t[15]]) as usize;
    let start = img.len() - size;
    let meta = serde_json::from_slice(&img[start + 8..img.len() - 16]).unwrap();
    (start, meta)
}

fn profiles_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("profiles.json")).unwrap()).unwrap()
}

#[test]
fn make_info_lists_the_profiles() {
    let ib = imagebuilder("23.05.4", "mediatek/filogic");
    let r = make(&ib, &["info"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines[0], "Current Target: \"mediatek/filogic\"");
    assert_eq!(lines[1], "Current Architecture: \"aarch64\"");
    assert_eq!(lines[2], "Current Revision: \"r24012-d8dd03c46f\"");
    assert!(lines[3].starts_with("Default Packages: base-files busybox "));
    assert_eq!(lines[4], "Available Profiles:");
    let block: Vec<&str> = r
        .stdout
        .split("\n\n")
        .find(|b| b.starts_with("glinet_gl-mt6000:"))
        .unwrap()
        .lines()
        .collect();
    assert_eq!(
        block,
        vec![
        "glinet_gl-mt6000:",
        "    GL.iNet GL-MT6000",
        "    Packages: e2fsprogs f2fsck mkf2fs kmod-usb3 kmod-mt7986-firmware mt7986-wo-firmware",
        "    hasImageMetadata: 1",
        "    SupportedDevices: glinet,gl-mt6000",
    ]
    );
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            fixtures().join("releases/23.05.4/targets/mediatek/filogic/profiles.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let n = fixture["profiles"].as_object().unwrap().len();
    assert_eq!(
        r.stdout
            .lines()
            .filter(|l| l.starts_with("    hasImageMetadata:"))
            .count(),
        n
    );
}

#[test]
fn unknown_profile_fails() {
    let ib = imagebuilder("23.05.4", "mediatek/filogic");
    for target in ["manifest", "image"] {
        let r = make(&ib, &[target, "PROFILE=no_such_device"]);
        assert_ne!(r.code, 0);
        assert!(
            r.stdout
                .contains("Profile \"no_such_device\" does not exist!"),
            "{}",
            r.stdout
        );
    }
}

#[test]
fn unknown_package_fails_like_opkg() {
    let ib = imagebuilder("23.05.4", "mediatek/filogic");
    let out = bin_dir();
    let r = make(
        &ib,
        &[
            "image",
            "PROFILE=glinet_gl-mt6000",
            "PACKAGES=luci no-such-package",
            &arg("BIN_DIR", out.path().to_str().unwrap()),
        ],
    );
    assert_ne!(r.code, 0);
    assert!(
        r.stderr.contains(
            "Collected errors:\n * opkg_install_cmd: Cannot install package no-such-package.\n"
        ),
        "{}",
        r.stderr
    );
    assert!(!out.path().join("profiles.json").exists());
    // auc exists in 23.05 only.
    let ib24 = imagebuilder("24.10.5", "mediatek/filogic");
    let r = make(
        &ib24,
        &["manifest", "PROFILE=glinet_gl-mt6000", "PACKAGES=auc"],
    );
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("Cannot install package auc."));
}

#[test]
fn make_values_are_not_expanded() {
    let ib = imagebuilder("23.05.4", "x86/64");
    let marker = tempfile::tempdir().unwrap().path().join("pwned");
    let pk = format!("PACKAGES=$(shell touch {})", marker.display());
    let r = make(&ib, &["manifest", "PROFILE=generic", &pk]);
    assert_ne!(r.code, 0);
    assert!(!marker.exists(), "make expanded a value");
}

#[test]
fn manifest_resolves_defaults_device_and_user_packages() {
    let ib = imagebuilder("23.05.4", "mediatek/filogic");
    let r = make(
        &ib,
        &[
            "manifest",
            "PROFILE=glinet_gl-mt6000",
            "PACKAGES=luci -ppp -ppp-mod-pppoe tcpdump",
            "STRIP_ABI=1",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted, "sorted by name");
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l.split_once(" - ").expect("name - version").0)
        .collect();
    for n in [
        "luci",
        "luci-base",
        "luci-mod-status",
        "tcpdump",
        "libpcap",
        "kernel",
        "kmod-usb3",
        "mt7986-wo-firmware",
        "libubus",
        "busybox",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert!(
        !names.contains(&"ppp") && !names.contains(&"ppp-mod-pppoe"),
        "removed packages stay out"
    );
    assert!(
        !names.iter().any(|n| n.starts_with("libubus2")),
        "STRIP_ABI strips ABI suffixes"
    );

    // Versions come from the index (read independently).
    let idx = read_packages(&ib.join("staging_dir/standin/feeds/openwrt_base/Packages"));
    assert!(lines.contains(&format!("tcpdump - {}", idx["tcpdump"].0).as_str()));

    let r = make(&ib, &["manifest", "PROFILE=glinet_gl-mt6000"]);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("libubus20230605 - ")),
        "without STRIP_ABI names keep the suffix"
    );
}

#[test]
fn good_build_writes_images_with_trailer() {
    let ib = imagebuilder("24.10.5", "mediatek/filogic");
    let out = bin_dir();
    let files = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(files.path().join("etc/uci-defaults")).unwrap();
    std::fs::write(
        files.path().join("etc/uci-defaults/99-asu-defaults"),
        "uci set system.@system[0].hostname=asu\n",
    )
    .unwrap();
    let r = make(
        &ib,
        &[
            "image",
            "PROFILE=glinet_gl-mt6000",
            "PACKAGES=luci luci-app-attendedsysupgrade owut -ppp",
            &arg("BIN_DIR", out.path().to_str().unwrap()),
            &arg("FILES", files.path().to_str().unwrap()),
            "EXTRA_IMAGE_NAME=asu1",
            "DISABLED_SERVICES=dropbear",
        ],
    );
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("too big"));

    let pj = profiles_json(out.path());
    assert_eq!(pj["version_number"], "24.10.5");
    assert!(pj["linux_kernel"]["vermagic"].is_string());
    let profiles = pj["profiles"].as_object().unwrap();
    assert_eq!(
        profiles.keys().collect::<Vec<_>>(),
        vec!["glinet_gl-mt6000"]
    );
    let prof = &profiles["glinet_gl-mt6000"];
    let prefix = "openwrt-24.10.5-asu1-mediatek-filogic-glinet_gl-mt6000";
    assert_eq!(prof["image_prefix"], prefix);
    let images = prof["images"].as_array().unwrap();
    assert_eq!(images.len(), 5, "one file per upstream image type");
    let sums = std::fs::read_to_string(out.path().join("sha256sums")).unwrap();
    for img in images {
        let name = img["name"].as_str().unwrap();
        assert!(name.starts_with(prefix));
        let path = out.path().join(name);
        let sha = sha256sum_cli(&path);
        assert_eq!(img["sha256"], sha.as_str(), "{name}");
        assert!(sums.contains(&format!("{sha} *{name}")));
    }
    let sys = images.iter().find(|i| i["type"] == "sysupgrade").unwrap();
    assert_eq!(
        sys["name"],
        format!("{prefix}-squashfs-sysupgrade.bin").as_str()
    );
    let bytes = std::fs::read(out.path().join(sys["name"].as_str().unwrap())).unwrap();
    let (body_len, meta) = split_trailer(&bytes);
    assert_eq!(
        meta["supported_devices"],
        serde_json::json!(["glinet,gl-mt6000"])
    );
    assert_eq!(meta["version"]["version"], "24.10.5");
    assert_eq!(meta["version"]["revision"], "r29087-d9c5716d1d");
    assert_eq!(meta["version"]["board"], "glinet_gl-mt6000");
    // The crate's reader agrees, CRC included, and a router of this board accepts it.
    let parsed = asu_protocol::fwtool::read_metadata(&bytes).unwrap();
    asu_protocol::fwtool::check_for_board(&parsed, "glinet,gl-mt6000", "1.0").unwrap();
    use sha2::Digest;
    assert_eq!(
        sys["sha256_unsigned"],
        hex::encode(sha2::Sha256::digest(&bytes[..body_len])).as_str()
    );

    let body: serde_json::Value = serde_json::from_slice(&bytes[..body_len]).unwrap();
    assert_eq!(body["standin_image"], 1);
    assert_eq!(body["profile"], "glinet_gl-mt6000");
    for p in [
        "luci",
        "luci-app-attendedsysupgrade",
        "owut",
        "luci-base",
        "busybox",
        "fitblk",
    ] {
        assert!(body["installed"][p].is_string(), "{p} not installed");
    }
    assert!(body["installed"]["ppp"].is_null());
    let world: Vec<&str> = body["world"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(world.contains(&"luci") && world.contains(&"owut") && world.contains(&"fitblk"));
    assert!(
        !world.contains(&"luci-base"),
        "dependencies are not top-level"
    );
    assert_eq!(
        body["files"]["etc/uci-defaults/99-asu-defaults"],
        "uci set system.@system[0].hostname=asu\n"
    );
    assert_eq!(body["disabled_services"], serde_json::json!(["dropbear"]));

    // Factory images carry no trailer; the manifest lists the real names.
    let factory = images.iter().find(|i| i["type"] == "factory").unwrap();
    let fbytes = std::fs::read(out.path().join(factory["name"].as_str().unwrap())).unwrap();
    assert_ne!(&fbytes[fbytes.len() - 16..fbytes.len() - 12], b"FWx0");
    let manifest = std::fs::read_to_string(out.path().join(format!("{prefix}.manifest"))).unwrap();
    assert!(manifest
        .lines()
        .any(|l| l.starts_with("libubus20250102 - ")));
}

#[test]
fn too_big_image_is_dropped_but_make_succeeds() {
    let ib = imagebuilder("23.05.4", "ath79/tiny");
    let small = bin_dir();
    let r = make(
        &ib,
        &[
            "image",
            "PROFILE=engenius_eap350-v1",
            &arg("BIN_DIR", small.path().to_str().unwrap()),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("too big"), "defaults fit: {}", r.stderr);
    let types: Vec<String> = profiles_json(small.path())["profiles"]["engenius_eap350-v1"]
        ["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap().to_string())
        .collect();
    assert!(types.contains(&"sysupgrade".to_string()));

    let big = bin_dir();
    let r = make(
        &ib,
        &[
            "image",
            "PROFILE=engenius_eap350-v1",
            "PACKAGES=luci",
            &arg("BIN_DIR", big.path().to_str().unwrap()),
        ],
    );
    assert_eq!(r.code, 0, "the real ImageBuilder exits 0 here too");
    let warn = r
        .stderr
        .lines()
        .find(|l| l.starts_with("WARNING: Image file "))
        .unwrap_or_else(|| panic!("no warning: {}", r.stderr));
    let sys_name = "openwrt-23.05.4-ath79-tiny-engenius_eap350-v1-squashfs-sysupgrade.bin";
    assert!(warn.contains(sys_name));
    let (n, m) = warn
        .split_once(" is too big: ")
        .unwrap()
        .1
        .split_once(" > ")
        .unwrap();
    assert!(n.parse::<u64>().unwrap() > m.parse::<u64>().unwrap());
    assert!(
        (3_500_000..=4_200_000).contains(&m.parse::<u64>().unwrap()),
        "tiny flash limit {m}"
    );
    assert!(!big.path().join(sys_name).exists(), "image deleted");
    let pj = profiles_json(big.path());
    let images = pj["profiles"]["engenius_eap350-v1"]["images"]
        .as_array()
        .unwrap();
    assert!(images.iter().all(|i| i["type"] != "sysupgrade"));
    assert!(
        images.iter().any(|i| i["type"] == "kernel"),
        "the initramfs kernel is still built"
    );
}

#[test]
fn rootfs_partsize_limits_x86_images() {
    let ib = imagebuilder("23.05.4", "x86/64");
    let out = bin_dir();
    let r = make(
        &ib,
        &[
            "image",
            "PROFILE=generic",
            "PACKAGES=luci",
            "ROOTFS_PARTSIZE=1",
            &arg("BIN_DIR", out.path().to_str().unwrap()),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("-ext4-combined.img.gz is too big: "));
    assert!(r.stderr.contains(&format!(" > {}", 1024 * 1024)));
    let pj = profiles_json(out.path());
    assert!(pj["profiles"]["generic"]["images"]
        .as_array()
        .unwrap()
        .is_empty());

    let out = bin_dir();
    let r = make(
        &ib,
        &[
            "image",
            "PROFILE=generic",
            "PACKAGES=luci",
            &arg("BIN_DIR", out.path().to_str().unwrap()),
        ],
    );
    assert_eq!(r.code, 0);
    let images = profiles_json(out.path())["profiles"]["generic"]["images"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(images.len(), 6);
    let combined = images
        .iter()
        .find(|i| i["type"] == "combined" && i["filesystem"] == "ext4")
        .unwrap();
    let bytes = std::fs::read(out.path().join(combined["name"].as_str().unwrap())).unwrap();
    let (_, meta) = split_trailer(&bytes);
    assert_eq!(meta["version"]["target"], "x86/64");
}

#[test]
fn snapshot_release_builds_from_real_indexes() {
    let ib = imagebuilder("22.03-SNAPSHOT", "x86/64");
    let r = make(&ib, &["manifest", "PROFILE=generic", "STRIP_ABI=1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The real 22.03 manifest lists these with these versions.
    assert!(r.stdout.lines().any(|l| l == "busybox - 1.35.0-5"));
    assert!(r
        .stdout
        .lines()
        .any(|l| l == "kernel - 5.10.179-1-e8168dbcd24440f07ec1d67fdef78783"));
}

#[test]
fn hang_knob_delays_the_build() {
    let ib = imagebuilder("23.05.4", "x86/64");
    let out = bin_dir();
    let started = std::time::Instant::now();
    let r = make_env(
        &ib,
        &[
            "image",
            "PROFILE=generic",
            "PACKAGES=standin-hang",
            &arg("BIN_DIR", out.path().to_str().unwrap()),
        ],
        &[("STANDIN_HANG_SECONDS", "2")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    assert!(out.path().join("profiles.json").exists());
}

#[test]
fn slow_knob_delays_the_build_and_then_finishes() {
    let ib = imagebuilder("24.10.5", "mediatek/filogic");
    let out = bin_dir();
    let started = std::time::Instant::now();
    let r = make_env(
        &ib,
        &[
            "image",
            "PROFILE=glinet_gl-mt6000",
            "PACKAGES=standin-slow",
            &arg("BIN_DIR", out.path().to_str().unwrap()),
        ],
        &[("STANDIN_SLOW_SECONDS", "2")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("standin-slow selected: sleeping 2 s"),
        "{}",
        r.stderr
    );
    assert!(started.elapsed() >= std::time::Duration::from_secs(2));
    let pj: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("profiles.json")).unwrap()).unwrap();
    assert!(!pj["profiles"]["glinet_gl-mt6000"]["images"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// A private copy of an unpacked ImageBuilder, for a test that edits it.
fn private_copy(ib: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", ib.display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

/// The image body of the sysupgrade image a build wrote into `out`.
fn sysupgrade_body(out: &Path) -> serde_json::Value {
    let pj = profiles_json(out);
    let images = pj["profiles"]["glinet_gl-mt6000"]["images"].as_array().unwrap().clone();
    let sys = images.iter().find(|i| i["type"] == "sysupgrade").unwrap();
    let bytes = std::fs::read(out.join(sys["name"].as_str().unwrap())).unwrap();
    let (body_len, _) = split_trailer(&bytes);
    serde_json::from_slice(&bytes[..body_len]).unwrap()
}

#[test]
fn the_feeds_of_repositories_conf_are_fetched_and_recorded() {
    let copy = private_copy(&imagebuilder("24.10.5", "mediatek/filogic"));
    let ib = copy.path();
    let conf_path = ib.join("repositories.conf");
    let release = std::fs::read_to_string(&conf_path).unwrap();
    let extra = "https://feeds.example.org/openwrt/24.10/myfeed";
    std::fs::write(&conf_path, format!("{release}src/gz myfeed {extra}\n")).unwrap();
    // (name, index URL) of each feed line, read from the file by hand.
    let conf = std::fs::read_to_string(&conf_path).unwrap();
    let feeds: Vec<(String, String)> = conf
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.as_slice() {
                ["src/gz", name, url] => Some((name.to_string(), format!("{url}/Packages.gz"))),
                ["src", name, url] => Some((name.to_string(), format!("{url}/Packages"))),
                _ => None,
            }
        })
        .collect();
    assert!(feeds.len() >= 3, "{conf}");

    let out = bin_dir();
    let args = ["image", "PROFILE=glinet_gl-mt6000", "PACKAGES=luci"];
    let bin = arg("BIN_DIR", out.path().to_str().unwrap());
    let r = make(ib, &[args[0], args[1], args[2], &bin]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    for (_, index) in &feeds {
        assert!(r.stdout.lines().any(|l| l == format!("Downloading {index}")), "{index}: {}", r.stdout);
    }
    // The feed is not bundled: opkg's warning, and the build goes on.
    assert!(r.stderr.contains(&format!("{extra}/Packages.gz")), "{}", r.stderr);
    let body = sysupgrade_body(out.path());
    let names: Vec<&str> = feeds.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(body["repositories"], serde_json::json!(names));
    assert!(body["installed"]["luci"].is_string());

    // Only the local feed and one that carries all of the release's
    // packages (a bundled copy named like it).
    let mut all = String::new();
    for name in names.iter().filter(|n| n.starts_with("openwrt_")) {
        let p = ib.join(format!("staging_dir/standin/feeds/{name}/Packages"));
        all.push_str(&std::fs::read_to_string(p).unwrap());
        all.push('\n');
    }
    std::fs::create_dir_all(ib.join("staging_dir/standin/feeds/myfeed")).unwrap();
    std::fs::write(ib.join("staging_dir/standin/feeds/myfeed/Packages"), all).unwrap();
    std::fs::write(&conf_path, format!("src imagebuilder file:packages\nsrc/gz myfeed {extra}\n")).unwrap();
    let out = bin_dir();
    let bin = arg("BIN_DIR", out.path().to_str().unwrap());
    let r = make(ib, &[args[0], args[1], args[2], &bin]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(!r.stdout.contains("downloads.openwrt.org"), "{}", r.stdout);
    let body = sysupgrade_body(out.path());
    assert_eq!(body["repositories"], serde_json::json!(["imagebuilder", "myfeed"]));
    assert!(body["installed"]["luci"].is_string());
}
