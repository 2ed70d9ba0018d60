"""Answers `make info|manifest|image` like an opkg ImageBuilder, from a
small built-in package set. Test data only."""
import hashlib, json, os, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
REVISION = open(os.path.join(HERE, "revision")).read().strip()
VERSION = "24.10.5"
TARGET = "mediatek/filogic"
DEFAULTS = ["base-files", "busybox", "dnsmasq", "dropbear", "firewall4"]
AVAILABLE = {
    "base-files": "1678-" + REVISION, "busybox": "1.36.1-r2", "dnsmasq": "2.90-r4",
    "dropbear": "2024.86-r1", "firewall4": "2024.12.18-r1", "kmod-usb3": "6.6.119-r1",
    "luci": "25.1-r1", "tcpdump": "4.99.5-r1", "wpad-basic-mbedtls": "2024.09-r1",
}
PROFILES = {
    "glinet_gl-mt6000": ("GL.iNet", "GL-MT6000", ["kmod-usb3", "-wpad-basic-mbedtls"], ["glinet,gl-mt6000"]),
    "tiny_device": ("Tiny", "Device", [], ["tiny,device"]),
    "slow_device": ("Slow", "Device", [], ["slow,device"]),
}

def resolve(profile):
    if profile not in PROFILES:
        print('Profile "%s" does not exist!' % profile)
        print("Use 'make info' to get a list of available profile names.")
        sys.exit(1)
    wanted = []
    for p in DEFAULTS + PROFILES[profile][2] + os.environ.get("PACKAGES", "").split():
        if p.startswith("-"):
            wanted = [w for w in wanted if w != p[1:]]
        elif p not in wanted:
            wanted.append(p)
    missing = [p for p in wanted if p not in AVAILABLE]
    if missing:
        sys.stderr.write("Collected errors:\n")
        for p in missing:
            sys.stderr.write(" * opkg_install_cmd: Cannot install package %s.\n" % p)
        sys.exit(255)
    return sorted(wanted)

def info():
    print('Current Target: "%s"' % TARGET)
    print('Current Architecture: "aarch64"')
    print('Current Revision: "%s"' % REVISION)
    print("Default Packages: " + " ".join(DEFAULTS))
    print("Available Profiles:\n")
    for pid, (vendor, model, pkgs, devices) in PROFILES.items():
        print("%s:\n    %s %s\n    Packages: %s\n    hasImageMetadata: 1\n    SupportedDevices: %s"
              % (pid, vendor, model, " ".join(pkgs), " ".join(devices)))

def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()

def image():
    profile = os.environ.get("PROFILE", "")
    pkgs = resolve(profile)
    print("Building images...")
    if profile == "slow_device":
        time.sleep(120)
    bin_dir = os.environ["BIN_DIR"]
    extra = os.environ.get("EXTRA_IMAGE_NAME", "")
    prefix = "openwrt-%s-%s%s-%s" % (VERSION, extra + "-" if extra else "", TARGET.replace("/", "-"), profile)
    body = "profile=%s\npackages=%s\n" % (profile, " ".join(pkgs))
    files = os.environ.get("FILES", "")
    if files:
        body += "defaults=" + open(os.path.join(files, "etc/uci-defaults/99-asu-defaults")).read()
    images = []
    for fs, kind, ext in [("squashfs", "sysupgrade", "bin"), ("initramfs", "kernel", "bin")]:
        name = "%s-%s-%s.%s" % (prefix, fs, kind, ext)
        path = os.path.join(bin_dir, name)
        open(path, "w").write("%s %s\n%s" % (fs, kind, body))
        if profile == "tiny_device" and fs == "squashfs":
            sys.stderr.write("WARNING: Image file %s is too big: 4194305 > 3932160\n" % path)
            os.remove(path)
            continue
        images.append({"filesystem": fs, "name": name, "sha256": sha(path), "sha256_unsigned": sha(path), "type": kind})
    with open(os.path.join(bin_dir, prefix + ".manifest"), "w") as f:
        for p in pkgs:
            f.write("%s - %s\n" % (p, AVAILABLE[p]))
    vendor, model, device_pkgs, devices = PROFILES[profile]
    pj = {
        "arch_packages": "aarch64_cortex-a53", "default_packages": DEFAULTS, "metadata_version": 1,
        "source_date_epoch": 1700000000, "target": TARGET, "version_code": REVISION, "version_number": VERSION,
        "linux_kernel": {"version": "6.6.119", "release": "1", "vermagic": "abc"},
        "profiles": {profile: {"device_packages": device_pkgs, "image_prefix": prefix, "images": images,
                               "supported_devices": devices, "titles": [{"vendor": vendor, "model": model}]}},
    }
    json.dump(pj, open(os.path.join(bin_dir, "profiles.json"), "w"), indent=2)
    with open(os.path.join(bin_dir, "sha256sums"), "w") as f:
        for n in sorted(os.listdir(bin_dir)):
            if n != "sha256sums":
                f.write("%s *%s\n" % (sha(os.path.join(bin_dir, n)), n))

cmd = sys.argv[1]
if cmd == "info":
    info()
elif cmd == "manifest":
    for p in resolve(os.environ.get("PROFILE", "")):
        print("%s - %s" % (p, AVAILABLE[p]))
else:
    image()
