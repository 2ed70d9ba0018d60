//! Turns ImageBuilder output into the error texts users see. The exit code
//! alone is not enough: a too-big image can leave make exiting 0.

use crate::runner::{ExitKind, RunOutput};

/// Why a make step failed, worded as the `detail` of a failed build.
pub fn classify(step: &str, out: &RunOutput, timeout_secs: u64) -> Option<String> {
    match out.exit {
        ExitKind::TimedOut => {
            return Some(format!(
                "Error: Build timed out after {timeout_secs} seconds"
            ))
        }
        ExitKind::Cancelled => return Some("Error: Build was cancelled".to_string()),
        ExitKind::Exited(_) => {}
    }
    let text = format!("{}\n{}", out.stdout, out.stderr);
    if let Some(profile) = unknown_profile(&text) {
        return Some(format!("Error: Unknown profile {profile}"));
    }
    let exited_badly = out.exit != ExitKind::Exited(Some(0));
    if let Some(names) = impossible_packages(&text, exited_badly) {
        return Some(if names.is_empty() {
            "Error: Impossible package selection".to_string()
        } else {
            format!("Error: Impossible package selection: {}", names.join(", "))
        });
    }
    if text.lines().any(|l| l.contains(" is too big")) {
        return Some("Error: Selected packages exceed device storage".to_string());
    }
    match out.exit {
        ExitKind::Exited(Some(0)) => None,
        ExitKind::Exited(Some(code)) => {
            Some(format!("Error: make {step} failed with exit code {code}"))
        }
        _ => Some(format!("Error: make {step} was killed")),
    }
}

/// `Profile "x" does not exist!` -> x.
fn unknown_profile(text: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let rest = &l[l.find("Profile \"")? + "Profile \"".len()..];
        let (name, tail) = rest.split_once('"')?;
        tail.trim_start()
            .starts_with("does not exist")
            .then(|| name.to_string())
    })
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !s.is_empty() && !v.contains(&s) {
        v.push(s);
    }
}

fn first_word(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c == '(' || c == ':')
        .find(|w| !w.is_empty())
        .unwrap_or("")
        .trim_end_matches(['.', ':', ','])
        .to_string()
}

/// The packages opkg or apk refused, with the missing dependencies of each:
/// `Some(names)` when the output shows a package resolution error at all.
/// opkg's bare `Collected errors:` also lists harmless notes (conffile
/// differences), so on its own it counts only when make failed.
fn impossible_packages(text: &str, exited_badly: bool) -> Option<Vec<String>> {
    let mut found = false;
    let mut names: Vec<String> = Vec::new();
    // (package, missing dependencies) from opkg's satisfy_dependencies_for.
    let mut deps: Vec<(String, Vec<String>)> = Vec::new();
    let mut in_deps = false;
    let mut in_apk = false;
    for line in text.lines() {
        let opkg_body = line.strip_prefix(" * ").unwrap_or(line);
        if line.starts_with("Collected errors:") {
            found |= exited_badly;
            continue;
        }
        if in_deps {
            if let Some(dep) = opkg_body.strip_prefix('\t') {
                if let Some((_, list)) = deps.last_mut() {
                    push_unique(list, first_word(dep));
                }
                continue;
            }
            in_deps = false;
        }
        if let Some(i) = line.find("Cannot satisfy the following dependencies for ") {
            found = true;
            let pkg =
                first_word(&line[i + "Cannot satisfy the following dependencies for ".len()..]);
            push_unique(&mut names, pkg.clone());
            deps.push((pkg, Vec::new()));
            in_deps = true;
            continue;
        }
        if let Some(i) = line.find("Cannot install package ") {
            found = true;
            push_unique(
                &mut names,
                first_word(&line[i + "Cannot install package ".len()..]),
            );
            continue;
        }
        if let Some(i) = line.find("Unknown package '") {
            found = true;
            let rest = &line[i + "Unknown package '".len()..];
            push_unique(
                &mut names,
                rest.split('\'').next().unwrap_or("").to_string(),
            );
            continue;
        }
        if line.contains("ERROR: unable to select packages") {
            found = true;
            in_apk = true;
            continue;
        }
        if in_apk {
            // `  x (no such package):` names a package; deeper lines explain it.
            if line.starts_with("  ") && !line.starts_with("   ") {
                push_unique(&mut names, first_word(line));
                continue;
            }
            if line.starts_with("   ") {
                continue;
            }
            in_apk = false;
        }
    }
    if !found {
        return None;
    }
    let described = names
        .into_iter()
        .map(
            |n| match deps.iter().find(|(p, d)| *p == n && !d.is_empty()) {
                Some((_, d)) => format!("{n} (missing {})", d.join(", ")),
                None => n,
            },
        )
        .collect();
    Some(described)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(code: i32, stdout: &str, stderr: &str) -> RunOutput {
        RunOutput {
            exit: ExitKind::Exited(Some(code)),
            stdout: stdout.into(),
            stderr: stderr.into(),
        }
    }

    #[test]
    fn unknown_profile() {
        let o = out(2, "Profile \"glinet_gl-mt9999\" does not exist!\nUse 'make info' to get a list of available profile names.\n", "make: *** [Makefile:263: _check_profile] Error 1\n");
        assert_eq!(
            classify("image", &o, 600).unwrap(),
            "Error: Unknown profile glinet_gl-mt9999"
        );
    }

    #[test]
    fn opkg_cannot_install() {
        let stderr = "Collected errors:\n * opkg_install_cmd: Cannot install package luci-app-nonexistent.\nmake[2]: *** [Makefile:185: package_install] Error 255\n";
        let o = out(2, "Installing packages...\n", stderr);
        assert_eq!(
            classify("manifest", &o, 600).unwrap(),
            "Error: Impossible package selection: luci-app-nonexistent"
        );
    }

    #[test]
    fn opkg_unsatisfied_dependencies() {
        let stderr = "Collected errors:\n * satisfy_dependencies_for: Cannot satisfy the following dependencies for luci-app-foo:\n * \tlibbar (>= 2.0)\n * \tlibbaz\n * opkg_install_cmd: Cannot install package luci-app-foo.\n";
        let o = out(1, "", stderr);
        assert_eq!(
            classify("image", &o, 600).unwrap(),
            "Error: Impossible package selection: luci-app-foo (missing libbar, libbaz)"
        );
        // The documented variant: tab-indented names without the ` * ` prefix.
        let stderr = "Collected errors:\n * satisfy_dependencies_for: Cannot satisfy the following dependencies for tcpdump:\n\tlibpcap1\n";
        assert_eq!(
            classify("image", &out(1, "", stderr), 600).unwrap(),
            "Error: Impossible package selection: tcpdump (missing libpcap1)"
        );
    }

    #[test]
    fn harmless_opkg_notes_do_not_fail() {
        let stderr = "Collected errors:\n * resolve_conffiles: Existing conffile /etc/config/dhcp is different from the conffile in the new package. The new conffile will be placed at /etc/config/dhcp-opkg.\n";
        assert_eq!(classify("image", &out(0, "", stderr), 600), None);
        assert_eq!(
            classify("image", &out(2, "", stderr), 600).unwrap(),
            "Error: Impossible package selection"
        );
    }

    #[test]
    fn apk_unable_to_select() {
        let stderr = "ERROR: unable to select packages:\n  nosuchpkg (no such package):\n    required by: world[nosuchpkg]\n  other (no such package):\n    required by: world[other]\nmake[2]: *** [Makefile:210: package_install] Error 2\n";
        let o = out(2, "", stderr);
        assert_eq!(
            classify("manifest", &o, 600).unwrap(),
            "Error: Impossible package selection: nosuchpkg, other"
        );
    }

    #[test]
    fn too_big_even_with_exit_zero() {
        let stderr = "WARNING: Image file /w/bin/openwrt-24.10.5-ath79-tiny-tplink_tl-wr841-v9-squashfs-sysupgrade.bin is too big: 4194305 > 3932160\n";
        let o = out(0, "Building images...\n", stderr);
        assert_eq!(
            classify("image", &o, 600).unwrap(),
            "Error: Selected packages exceed device storage"
        );
    }

    #[test]
    fn success_and_plain_failures() {
        assert_eq!(
            classify("image", &out(0, "Building images...\n", ""), 600),
            None
        );
        assert_eq!(
            classify("image", &out(2, "", "make: *** weird\n"), 600).unwrap(),
            "Error: make image failed with exit code 2"
        );
        let t = RunOutput {
            exit: ExitKind::TimedOut,
            stdout: String::new(),
            stderr: String::new(),
        };
        assert_eq!(
            classify("image", &t, 42).unwrap(),
            "Error: Build timed out after 42 seconds"
        );
    }
}
