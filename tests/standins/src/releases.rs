//! What the stand-in mirror knows about each release beyond the fixtures:
//! kernel, ABI versions of the shared libraries, version string style and
//! which archive format its ImageBuilder uses.

/// How a release writes package versions: `1.2-3` up to 23.05, `1.2-r3`
/// (dates as `2024.03.29~hash`) from 24.10 on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionStyle {
    Dash,
    R,
}

#[derive(Debug, Clone)]
pub struct Release {
    pub version: &'static str,
    /// A `-SNAPSHOT` branch: served under /releases/ like a release, but not
    /// listed in `.versions.json`.
    pub snapshot: bool,
    /// Package indexes are generated (true) or copied from the fixtures.
    pub generated_indexes: bool,
    /// `tar.xz` or `tar.zst`.
    pub archive_ext: &'static str,
    pub style: VersionStyle,
    /// Kernel version and package release; vermagic comes from
    /// profiles.json where it has `linux_kernel`, else it is derived.
    pub kernel_version: &'static str,
    pub kernel_release: &'static str,
    /// Library base name -> ABI version, for the generated indexes.
    pub abi: &'static [(&'static str, &'static str)],
    /// Versions of well-known packages (names without ABI suffix).
    pub versions: &'static [(&'static str, &'static str)],
    /// Index into the version bump rules (0 = fixture release).
    pub generation: u32,
    /// Builds are `24.10` luci-style (`luci-app-package-manager`, owut).
    pub modern: bool,
}

impl Release {
    /// The release branch, e.g. `23.05` for `23.05.4`.
    pub fn branch(&self) -> &str {
        let v = self.version.trim_end_matches("-SNAPSHOT");
        match v.match_indices('.').nth(1) {
            Some((i, _)) => &v[..i],
            None => v,
        }
    }

    pub fn abi_for(&self, base: &str) -> Option<&'static str> {
        self.abi.iter().find(|(b, _)| *b == base).map(|(_, a)| *a)
    }

    pub fn known_version(&self, name: &str) -> Option<&'static str> {
        self.versions
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

pub const RELEASES: &[Release] = &[
    Release {
        version: "22.03-SNAPSHOT",
        snapshot: true,
        generated_indexes: false,
        archive_ext: "tar.xz",
        style: VersionStyle::Dash,
        kernel_version: "5.10.179",
        kernel_release: "1",
        abi: &[],
        versions: &[],
        generation: 0,
        modern: false,
    },
    Release {
        version: "23.05.4",
        snapshot: false,
        generated_indexes: true,
        archive_ext: "tar.xz",
        style: VersionStyle::Dash,
        kernel_version: "5.15.162",
        kernel_release: "1",
        abi: &[
            ("libubox", "20230523"),
            ("libubus", "20230605"),
            ("libblobmsg-json", "20230523"),
            ("libjson-script", "20230523"),
            ("libucode", "20230711"),
            ("libiwinfo", "20230701"),
            ("libmbedtls", "12"),
            ("libustream-mbedtls", "20201210"),
            ("libustream-wolfssl", "20201210"),
            ("libwolfssl", "5.6.4.e624af45"),
            ("liblua", "5.1.5"),
            ("libpcap", "1"),
            ("liblucihttp", "0"),
        ],
        versions: &[
            ("busybox", "1.36.1-1"),
            ("dnsmasq", "2.90-2"),
            ("dropbear", "2022.82-6"),
            ("firewall4", "2023-09-01-598d9fbb-1"),
            ("nftables-json", "1.0.8-1"),
            ("opkg", "2022-02-24-d038e5b6-2"),
            ("ca-bundle", "20230311-1"),
            ("netifd", "2024-01-04-c18cc79d-2"),
            ("procd", "2023-06-25-2db83655-2"),
            ("procd-seccomp", "2023-06-25-2db83655-2"),
            ("procd-ujail", "2023-06-25-2db83655-2"),
            ("ubus", "2023-06-05-f787c97b-1"),
            ("ubusd", "2023-06-05-f787c97b-1"),
            ("libubus", "2023-06-05-f787c97b-1"),
            ("libubox", "2023-05-23-75a3b870-1"),
            ("uci", "2023-08-10-5781664d-1"),
            ("ucode", "2023-11-07-a6e75e02-1"),
            ("libc", "1.2.4-4"),
            ("libgcc", "12.3.0-4"),
            ("libpthread", "1.2.4-4"),
            ("librt", "1.2.4-4"),
            ("tcpdump", "4.99.4-1"),
            ("libpcap", "1.10.4-1"),
            ("wireguard-tools", "1.0.20210914-3"),
            ("auc", "0.3.2-1"),
            ("attendedsysupgrade-common", "8"),
            ("uhttpd", "2023-06-25-34a8a74d-2"),
            ("rpcd", "2023-07-01-c07ab2f9-1"),
            ("mtd", "26"),
            ("wpad-basic-mbedtls", "2023-09-08-e5ccbfc6-6"),
        ],
        generation: 1,
        modern: false,
    },
    Release {
        version: "24.10.5",
        snapshot: false,
        generated_indexes: true,
        archive_ext: "tar.zst",
        style: VersionStyle::R,
        kernel_version: "6.6.119",
        kernel_release: "1",
        abi: &[
            ("libubox", "20240329"),
            ("libubus", "20250102"),
            ("libblobmsg-json", "20240329"),
            ("libjson-script", "20240329"),
            ("libucode", "20230711"),
            ("libiwinfo", "20230701"),
            ("libmbedtls", "21"),
            ("libustream-mbedtls", "20201210"),
            ("libustream-wolfssl", "20201210"),
            ("libwolfssl", "5.7.6.e624af45"),
            ("liblua", "5.1.5"),
            ("libpcap", "1"),
            ("liblucihttp", "0"),
        ],
        versions: &[
            ("busybox", "1.36.1-r2"),
            ("dnsmasq", "2.90-r4"),
            ("dropbear", "2024.86-r1"),
            ("firewall4", "2024.12.18~18fc0ead-r1"),
            ("nftables-json", "1.1.1-r1"),
            ("opkg", "2024.10.16~38eccbb1-r1"),
            ("ca-bundle", "20250419-r1"),
            ("netifd", "2025.10.26~7dd5c6a1-r1"),
            ("procd", "2024.12.22~42d39376-r1"),
            ("procd-seccomp", "2024.12.22~42d39376-r1"),
            ("procd-ujail", "2024.12.22~42d39376-r1"),
            ("ubus", "2025.01.02~afa57cce-r1"),
            ("ubusd", "2025.01.02~afa57cce-r1"),
            ("libubus", "2025.01.02~afa57cce-r1"),
            ("libubox", "2024.03.29~eb9bcb64-r1"),
            ("uci", "2025.01.20~16ff0bad-r1"),
            ("ucode", "2025.07.18~29a48e08-r1"),
            ("libc", "1.2.5-r4"),
            ("libgcc", "13.3.0-r4"),
            ("libpthread", "1.2.5-r4"),
            ("librt", "1.2.5-r4"),
            ("tcpdump", "4.99.5-r1"),
            ("libpcap", "1.10.5-r1"),
            ("wireguard-tools", "1.0.20210914-r4"),
            ("owut", "2025.08.28~1b3b2f3a-r1"),
            ("attendedsysupgrade-common", "11"),
            ("uhttpd", "2025.07.06~b7a4bb6b-r1"),
            ("rpcd", "2025.07.20~30fb64ff-r1"),
            ("mtd", "26"),
            ("wpad-basic-mbedtls", "2024.09.15~5ace39b0-r2"),
        ],
        generation: 2,
        modern: true,
    },
];

pub fn find(version: &str) -> Option<&'static Release> {
    RELEASES.iter().find(|r| r.version == version)
}

/// The CPU architecture `make info` prints, from the package architecture.
pub fn cpu_arch(arch_packages: &str) -> &str {
    match arch_packages.split('_').next().unwrap_or(arch_packages) {
        "mips" | "mipsel" | "mips64" => arch_packages.split('_').next().unwrap_or("mips"),
        "x86" => "x86_64",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branches() {
        assert_eq!(find("23.05.4").unwrap().branch(), "23.05");
        assert_eq!(find("22.03-SNAPSHOT").unwrap().branch(), "22.03");
        assert_eq!(cpu_arch("aarch64_cortex-a53"), "aarch64");
        assert_eq!(cpu_arch("mips_24kc"), "mips");
        assert_eq!(cpu_arch("x86_64"), "x86_64");
    }
}
