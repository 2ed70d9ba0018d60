//! Packages the fixtures do not have but the tests and the demo need, with
//! their real names and dependency structure (as in the OpenWrt feeds).
//! Dependencies are written without ABI suffix; the generator rewrites them
//! to the ABI-suffixed names of the release.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only {
    All,
    /// Releases before 24.10 (opkg-era LuCI, auc).
    Legacy,
    /// 24.10 and later (owut, luci-app-package-manager).
    Modern,
}

#[derive(Debug, Clone, Copy)]
pub struct Def {
    pub name: &'static str,
    pub feed: &'static str,
    pub depends: &'static [&'static str],
    pub provides: &'static [&'static str],
    pub conflicts: &'static [&'static str],
    /// Installed size in bytes.
    pub size: u64,
    pub arch_all: bool,
    pub only: Only,
    pub section: &'static str,
    pub description: &'static str,
}

const fn d(
    name: &'static str,
    feed: &'static str,
    depends: &'static [&'static str],
    size: u64,
    section: &'static str,
    description: &'static str,
) -> Def {
    Def {
        name,
        feed,
        depends,
        provides: &[],
        conflicts: &[],
        size,
        arch_all: false,
        only: Only::All,
        section,
        description,
    }
}

const fn all_arch(mut def: Def) -> Def {
    def.arch_all = true;
    def
}

const fn only(mut def: Def, only: Only) -> Def {
    def.only = only;
    def
}

const fn provides(mut def: Def, p: &'static [&'static str]) -> Def {
    def.provides = p;
    def
}

const fn conflicts(mut def: Def, c: &'static [&'static str]) -> Def {
    def.conflicts = c;
    def
}

/// Name of the package that makes `make image` of the stand-in hang, so a
/// test can exercise the builder's time limit through the production path.
pub const HANG_PACKAGE: &str = "standin-hang";

/// Name of the package that makes `make image` of the stand-in take a while
/// (but finish), so a test can kill a builder in the middle of a build.
pub const SLOW_PACKAGE: &str = "standin-slow";

pub const DEFS: &[Def] = &[
    // LuCI
    all_arch(only(
        d("luci", "luci", &["libc", "uhttpd", "uhttpd-mod-ubus", "luci-light", "luci-app-opkg"], 1_024, "luci",
          "Standard OpenWrt set including full admin with ppp support and the default Bootstrap theme"),
        Only::Legacy,
    )),
    all_arch(only(
        d("luci", "luci", &["libc", "uhttpd", "uhttpd-mod-ubus", "luci-light", "luci-app-package-manager"], 1_024, "luci",
          "Standard OpenWrt set including full admin with ppp support and the default Bootstrap theme"),
        Only::Modern,
    )),
    all_arch(d("luci-light", "luci",
        &["libc", "luci-proto-ipv6", "luci-app-firewall", "luci-base", "luci-mod-admin-full", "luci-proto-ppp",
          "luci-theme-bootstrap", "rpcd-mod-rrdns"],
        1_024, "luci", "Minimum package set using only admin mini and the standard theme")),
    all_arch(d("luci-base", "luci",
        &["libc", "lua", "luci-lib-nixio", "luci-lib-ip", "rpcd", "libubus-lua", "luci-lib-jsonc", "liblucihttp-lua",
          "luci-lib-base", "rpcd-mod-file", "rpcd-mod-luci", "cgi-io", "ucode", "ucode-mod-fs", "ucode-mod-uci",
          "ucode-mod-ubus", "ucode-mod-math", "ucode-mod-html", "liblucihttp-ucode", "rpcd-mod-ucode"],
        262_144, "luci", "LuCI core libraries")),
    all_arch(d("luci-lib-base", "luci", &["libc", "lua"], 18_432, "luci", "Common base libraries")),
    d("luci-lib-jsonc", "luci", &["libc", "liblua", "libjson-c", "luci-lib-base"], 9_216, "luci", "Lua binding for JSON-C"),
    d("luci-lib-nixio", "luci", &["libc", "liblua"], 36_864, "luci", "NIXIO POSIX library"),
    d("luci-lib-ip", "luci", &["libc", "liblua", "libnl-tiny"], 17_408, "luci", "Lua library for IP calculation and routing information"),
    all_arch(d("luci-mod-admin-full", "luci", &["libc", "luci-base", "luci-mod-network", "luci-mod-status", "luci-mod-system"],
        1_024, "luci", "LuCI Administration - full-featured for full control")),
    all_arch(d("luci-mod-network", "luci", &["libc", "luci-base", "rpcd-mod-iwinfo"], 58_368, "luci", "LuCI Network Administration")),
    all_arch(d("luci-mod-status", "luci", &["libc", "luci-base"], 39_936, "luci", "LuCI Status Pages")),
    all_arch(d("luci-mod-system", "luci", &["libc", "luci-base"], 34_816, "luci", "LuCI System Administration")),
    all_arch(d("luci-theme-bootstrap", "luci", &["libc", "luci-base"], 15_360, "luci", "Bootstrap Theme (default)")),
    all_arch(d("luci-app-firewall", "luci", &["libc", "luci-base", "firewall4"], 27_648, "luci", "Firewall and Portforwarding application")),
    all_arch(only(d("luci-app-opkg", "luci", &["libc", "luci-base", "opkg"], 12_288, "luci", "OPKG package management application"), Only::Legacy)),
    all_arch(only(d("luci-app-package-manager", "luci", &["libc", "luci-base"], 13_312, "luci", "Software package management application"), Only::Modern)),
    all_arch(d("luci-proto-ipv6", "luci", &["libc", "luci-base"], 6_144, "luci", "Support for DHCPv6/6in4/6to4/6rd/DS-Lite/aiccu")),
    all_arch(d("luci-proto-ppp", "luci", &["libc", "luci-base"], 4_096, "luci", "Support for PPP/PPPoE/PPPoA/PPtP")),
    all_arch(d("luci-proto-wireguard", "luci", &["libc", "luci-base", "wireguard-tools", "ucode"], 9_216, "luci", "Support for WireGuard VPN")),
    all_arch(d("luci-app-attendedsysupgrade", "luci", &["libc", "luci-base", "rpcd-mod-rpcsys", "attendedsysupgrade-common", "cgi-io"],
        14_336, "luci", "LuCI support for attended sysupgrades")),
    d("rpcd-mod-rpcsys", "luci", &["libc", "libubus", "libubox", "rpcd"], 5_120, "luci", "rpcd module for sysupgrade and package list calls"),
    d("rpcd-mod-luci", "luci", &["libc", "libubus", "libubox", "libuci", "libiwinfo", "libblobmsg-json", "libnl-tiny", "rpcd"],
        13_312, "luci", "Provides LuCI specific procedures, mainly relating to networking"),
    d("rpcd-mod-rrdns", "luci", &["libc", "libubox", "libubus", "rpcd"], 5_120, "luci", "Rapid reverse DNS rpcd module"),
    d("ucode-mod-html", "luci", &["libc", "libucode"], 5_120, "luci", "HTML utility functions for ucode"),
    provides(d("liblucihttp", "luci", &["libc", "libubox"], 8_192, "luci", "HTTP utility library"), &["liblucihttp"]),
    d("liblucihttp-lua", "luci", &["libc", "liblucihttp", "liblua"], 5_120, "luci", "HTTP utility library - Lua binding"),
    d("liblucihttp-ucode", "luci", &["libc", "liblucihttp", "libucode"], 5_120, "luci", "HTTP utility library - ucode binding"),
    // base
    d("uhttpd", "base", &["libc", "libubox", "libblobmsg-json", "libjson-script", "libjson-c"], 31_744, "net",
      "uHTTPd is a tiny single threaded HTTP server with TLS, CGI and Lua support."),
    d("uhttpd-mod-ubus", "base", &["libc", "uhttpd", "libubus", "libblobmsg-json"], 9_216, "net", "The ubus plugin adds a HTTP/JSON RPC proxy for ubus."),
    d("rpcd", "base", &["libc", "libubus", "libubox", "libuci", "libblobmsg-json", "libjson-c"], 33_792, "utils",
      "This package provides the UBUS RPC backend server to expose various functionality to frontend programs via JSON-RPC."),
    d("rpcd-mod-file", "base", &["libc", "libubus", "libubox", "rpcd"], 9_216, "utils", "Provides ubus calls for file and directory operations."),
    d("rpcd-mod-iwinfo", "base", &["libc", "libubus", "libubox", "libiwinfo", "rpcd"], 11_264, "utils", "Provides ubus calls for accessing iwinfo data."),
    d("rpcd-mod-ucode", "base", &["libc", "libubus", "libucode", "rpcd"], 9_216, "utils", "Allows implementing plugins using ucode scripts."),
    d("cgi-io", "base", &["libc", "libubox", "libubus"], 11_264, "net", "This package contains an cgi utility that is useful for up/downloading files"),
    d("lua", "base", &["libc", "liblua"], 9_216, "lang", "Lua is a powerful light-weight programming language designed for extending applications."),
    provides(d("liblua", "base", &["libc"], 96_256, "libs", "Lua is a powerful light-weight programming language. This package contains the Lua shared libraries."), &["liblua"]),
    d("libubus-lua", "base", &["libc", "libubus", "liblua"], 7_168, "libs", "Lua binding for the OpenWrt RPC client"),
    d("ucode-mod-math", "base", &["libc", "libucode"], 4_096, "utils", "The math plugin provides access to various <math.h> procedures."),
    d("ucode-mod-uloop", "base", &["libc", "libucode", "libubox"], 13_312, "utils", "The uloop module allows ucode scripts to interact with OpenWrt uloop event loop implementation."),
    d("ucode-mod-uclient", "base", &["libc", "libucode", "libuclient"], 7_168, "utils", "The uclient module allows ucode scripts to use uclient for HTTP requests."),
    d("ucode-mod-debug", "base", &["libc", "libucode", "libubox"], 9_216, "utils", "The debug plugin module provides runtime debugging and introspection facilities."),
    d("tcpdump", "base", &["libc", "libpcap"], 378_880, "net", "Network monitoring and data acquisition tool"),
    provides(d("libpcap", "base", &["libc"], 152_576, "libs", "This package contains a system-independent library for user-level network packet capture."), &["libpcap"]),
    d("wireguard-tools", "base", &["libc", "kmod-wireguard"], 49_152, "net",
      "WireGuard is a novel VPN that runs inside the Linux Kernel. This package provides the userspace utility for configuring WireGuard."),
    provides(d("libmbedtls", "base", &["libc"], 317_440, "libs", "The aim of the mbedtls project is to provide a quality, open-source cryptographic library."), &["libmbedtls"]),
    provides(d("libustream-mbedtls", "base", &["libc", "libubox", "libmbedtls"], 9_216, "libs", "ustream SSL Library (mbedtls)"), &["libustream-mbedtls"]),
    provides(
        conflicts(d("wpad-basic-mbedtls", "base", &["libc", "hostapd-common", "libubus", "libnl-tiny", "libmbedtls"], 316_416, "net",
          "This package contains a basic IEEE 802.1x/WPA Authenticator with WPA-PSK, 802.11r and 802.11w support."),
          &["wpad-mbedtls", "wpad-openssl", "wpad-basic-wolfssl"]),
        &["hostapd", "wpa-supplicant", "wpad-basic", "wpad"],
    ),
    provides(
        conflicts(d("wpad-mbedtls", "base", &["libc", "hostapd-common", "libubus", "libnl-tiny", "libmbedtls"], 512_000, "net",
          "This package contains a full featured IEEE 802.1x/WPA/EAP/RADIUS Authenticator and Supplicant"),
          &["wpad-basic-mbedtls", "wpad-openssl", "wpad-basic-wolfssl"]),
        &["hostapd", "wpa-supplicant", "wpad"],
    ),
    d("nftables-nojson", "base", &["libc", "kmod-nft-core", "libnftnl"], 281_600, "net", "nftables userspace utility no JSON support"),
    d("fitblk", "base", &["libc"], 4_096, "utils", "fitblk release tool"),
    d("rssileds", "base", &["libc", "libiwinfo"], 6_144, "utils", "A small program to control the LEDs by RSSI"),
    d("fdisk", "base", &["libc", "libblkid", "libsmartcols", "libfdisk"], 83_968, "utils", "a menu-driven program for creation and manipulation of partition tables"),
    d("uqmi", "base", &["libc", "libubox", "libblobmsg-json", "kmod-usb-net-qmi-wwan", "wwan"], 57_344, "net", "Control utility for mobile broadband modems"),
    // packages feed
    all_arch(d("attendedsysupgrade-common", "packages", &[], 2_048, "utils",
      "Common files needed by all attended sysupgrade clients: UCI config with the server address.")),
    only(d("auc", "packages",
        &["libc", "attendedsysupgrade-common", "libblobmsg-json", "libubox", "libubus", "libuci", "libuclient", "rpcd-mod-rpcsys"],
        16_384, "utils", "CLI client for attended sysupgrade"), Only::Legacy),
    all_arch(only(d("owut", "packages",
        &["attendedsysupgrade-common", "rpcd-mod-rpcsys", "ucode", "ucode-mod-fs", "ucode-mod-ubus", "ucode-mod-uci",
          "ucode-mod-uclient", "ucode-mod-uloop"],
        61_440, "utils", "OpenWrt Upgrade Tool: a command line tool to upgrade your OpenWrt firmware"), Only::Modern)),
    // target (kmods)
    d("kmod-wireguard", "target",
      &["kernel", "kmod-udptunnel4", "kmod-udptunnel6", "kmod-crypto-lib-chacha20poly1305", "kmod-crypto-lib-curve25519"],
      56_320, "kernel", "WireGuard is a novel VPN that runs inside the Linux Kernel and utilizes state-of-the-art cryptography."),
    d("kmod-udptunnel4", "target", &["kernel"], 4_096, "kernel", "IPv4 UDP tunneling support"),
    d("kmod-udptunnel6", "target", &["kernel"], 4_096, "kernel", "IPv6 UDP tunneling support"),
    d("kmod-crypto-lib-chacha20poly1305", "target", &["kernel", "kmod-crypto-lib-chacha20", "kmod-crypto-lib-poly1305"], 5_120, "kernel",
      "ChaCha20-Poly1305 AEAD support (8-byte nonce library version)"),
    d("kmod-crypto-lib-chacha20", "target", &["kernel"], 7_168, "kernel", "ChaCha library interface"),
    d("kmod-crypto-lib-poly1305", "target", &["kernel"], 7_168, "kernel", "Poly1305 library interface"),
    d("kmod-crypto-lib-curve25519", "target", &["kernel"], 28_672, "kernel", "Curve25519 scalar multiplication library"),
    d("kmod-mt7915e", "target", &["kernel", "kmod-mt76-connac", "kmod-hwmon-core", "kmod-thermal"], 151_552, "kernel", "MediaTek MT7915e wireless driver"),
    d("kmod-mt76-connac", "target", &["kernel", "kmod-mt76-core"], 40_960, "kernel", "MediaTek MT7615/MT79xx wireless driver common code"),
    d("kmod-mt76-core", "target", &["kernel", "kmod-mac80211"], 65_536, "kernel", "MediaTek MT76xx wireless driver common code"),
    d("kmod-usb3", "target", &["kernel", "kmod-usb-core"], 98_304, "kernel", "Kernel support for USB3 (XHCI) controllers"),
    // The stand-in's test knob: shows up like a normal package.
    all_arch(d(HANG_PACKAGE, "base", &[], 1_024, "utils",
      "Test knob of the ImageBuilder stand-in: make image sleeps for a long time when this package is selected.")),
    all_arch(d(SLOW_PACKAGE, "base", &[], 1_024, "utils",
      "Test knob of the ImageBuilder stand-in: make image takes some seconds longer when this package is selected.")),
];

pub fn defs_for(modern: bool) -> impl Iterator<Item = &'static Def> {
    DEFS.iter().filter(move |d| match d.only {
        Only::All => true,
        Only::Legacy => !modern,
        Only::Modern => modern,
    })
}

/// Names the tests and the demo install on top of the defaults.
pub const USER_PACKAGES: &[&str] = &[
    "luci",
    "luci-app-attendedsysupgrade",
    "rpcd-mod-rpcsys",
    "tcpdump",
    "wireguard-tools",
    "kmod-wireguard",
];
