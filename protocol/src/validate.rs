//! Syntax checks for every request field. Names are matched against strict
//! patterns so that nothing a client sends can act as a shell word, a path
//! component or a make variable, even if some later code were careless.

use std::fmt;

/// Longest package, profile or repository name we accept.
pub const MAX_NAME_LEN: usize = 128;
/// Most packages one request may list.
pub const MAX_PACKAGES: usize = 1024;
/// Longest version string (e.g. `24.10-SNAPSHOT`).
pub const MAX_VERSION_LEN: usize = 32;
/// Filesystems the ImageBuilder knows how to produce.
pub const FILESYSTEMS: &[&str] = &["squashfs", "ext4", "ubifs", "erofs", "jffs2", "btrfs"];

/// A field that failed validation: which field, and why, in words a user can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}

/// Shows a user-supplied value inside an error message without letting it
/// break the message: control characters escaped, long values cut.
pub fn quote(value: &str) -> String {
    let mut out = String::from("'");
    for (i, c) in value.chars().enumerate() {
        if i >= 64 {
            out.push_str("...");
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-')
}

fn check_len(field: &str, value: &str, max: usize) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.len() > max {
        return Err(FieldError::new(
            field,
            format!("{} is {} characters long; at most {max} are allowed", quote(value), value.len()),
        ));
    }
    Ok(())
}

fn check_chars(field: &str, value: &str, allowed: impl Fn(char) -> bool, what: &str) -> Result<(), FieldError> {
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(FieldError::new(
            field,
            format!("{} contains {:?}, which is not allowed; {what}", quote(value), bad),
        ));
    }
    Ok(())
}

/// A package name as opkg and apk know it: ASCII letters, digits, `.`, `_`,
/// `+`, `-`, starting with a letter or digit. A leading `-` (removal) is
/// handled by [`package_entry`].
pub fn package_name(field: &str, name: &str) -> Result<(), FieldError> {
    check_len(field, name, MAX_NAME_LEN)?;
    check_chars(field, name, is_name_char, "package names use only letters, digits and . _ + -")?;
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(FieldError::new(field, format!("{} must start with a letter or digit", quote(name))));
    }
    Ok(())
}

/// An entry of `packages`: a package name, or `-name` to remove a default.
pub fn package_entry(field: &str, entry: &str) -> Result<(), FieldError> {
    package_name(field, entry.strip_prefix('-').unwrap_or(entry))
}

/// A profile id or board name (`glinet,gl-mt6000`, `generic`).
pub fn profile(field: &str, value: &str) -> Result<(), FieldError> {
    check_len(field, value, MAX_NAME_LEN)?;
    check_chars(
        field,
        value,
        |c| is_name_char(c) || c == ',',
        "profiles use only letters, digits and . _ + - ,",
    )?;
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(FieldError::new(field, format!("{} must start with a letter or digit", quote(value))));
    }
    Ok(())
}

fn is_lower_word(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// `target/subtarget`, both lower-case words (`mediatek/filogic`, `x86/64`).
pub fn target(field: &str, value: &str) -> Result<(), FieldError> {
    check_len(field, value, 64)?;
    match value.split_once('/') {
        Some((t, s)) if is_lower_word(t) && is_lower_word(s) => Ok(()),
        _ => Err(FieldError::new(
            field,
            format!("{} is not of the form target/subtarget (e.g. mediatek/filogic)", quote(value)),
        )),
    }
}

/// A release version (`23.05.4`, `24.10-SNAPSHOT`, `SNAPSHOT`).
pub fn version(field: &str, value: &str) -> Result<(), FieldError> {
    check_len(field, value, MAX_VERSION_LEN)?;
    check_chars(
        field,
        value,
        |c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'),
        "versions look like 24.10.5 or 24.10-SNAPSHOT",
    )?;
    if !value.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(FieldError::new(field, format!("{} must start with a letter or digit", quote(value))));
    }
    Ok(())
}

/// A revision (`r24012-d8dd03c46f`); empty means "any".
pub fn version_code(field: &str, value: &str) -> Result<(), FieldError> {
    if value.is_empty() {
        return Ok(());
    }
    let bad = || {
        FieldError::new(field, format!("{} is not a revision like r24012-d8dd03c46f", quote(value)))
    };
    let rest = value.strip_prefix('r').ok_or_else(bad)?;
    let (num, hash) = rest.split_once('-').ok_or_else(bad)?;
    let (num, plus) = match num.split_once('+') {
        Some((n, p)) => (n, Some(p)),
        None => (num, None),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(num) || plus.is_some_and(|p| !digits(p)) {
        return Err(bad());
    }
    if hash.is_empty() || hash.len() > 40 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    Ok(())
}

/// Distributions this service builds images of.
pub const DISTROS: &[&str] = &["openwrt"];

/// The distribution name (`openwrt`). Only [`DISTROS`] are accepted: any
/// other name could never be built, and would only queue a job that fails.
pub fn distro(field: &str, value: &str) -> Result<(), FieldError> {
    check_len(field, value, 32)?;
    if !is_lower_word(value) {
        return Err(FieldError::new(field, format!("{} is not a distribution name like openwrt", quote(value))));
    }
    if !DISTROS.contains(&value) {
        return Err(FieldError::new(
            field,
            format!("{} is not a distribution this server builds ({})", quote(value), DISTROS.join(", ")),
        ));
    }
    Ok(())
}

/// One of the known root filesystem types.
pub fn filesystem(field: &str, value: &str) -> Result<(), FieldError> {
    if FILESYSTEMS.contains(&value) {
        Ok(())
    } else {
        Err(FieldError::new(
            field,
            format!("{} is not a filesystem an image can be built with ({})", quote(value), FILESYSTEMS.join(", ")),
        ))
    }
}

/// A repository's name in `repositories`.
pub fn repository_name(field: &str, value: &str) -> Result<(), FieldError> {
    check_len(field, value, 64)?;
    check_chars(
        field,
        value,
        |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
        "repository names use only letters, digits, _ and -",
    )?;
    // The ImageBuilder's own local feed; a request must not replace it.
    if value == "imagebuilder" {
        return Err(FieldError::new(field, "'imagebuilder' is the ImageBuilder's own feed; choose another name"));
    }
    Ok(())
}

/// A package version as opkg/apk print it (`1.2.3-r1`, `2024.01.01~abc-1`).
pub fn package_version(field: &str, value: &str) -> Result<(), FieldError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-' | '~' | ':'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(field, format!("{} is not a package version", quote(value))))
    }
}

/// The first-boot script: plain text, no NUL, within the server's limit.
pub fn defaults(field: &str, value: &str, max_bytes: usize) -> Result<(), FieldError> {
    if value.len() > max_bytes {
        return Err(FieldError::new(
            field,
            format!("the first-boot script is {} bytes; this server accepts at most {max_bytes}", value.len()),
        ));
    }
    if value.contains('\0') {
        return Err(FieldError::new(field, "the first-boot script must not contain NUL bytes"));
    }
    Ok(())
}

/// Whether `url` lies under one of the allowed prefixes. The URL is parsed
/// strictly (https/http, no userinfo, no encoded or dot segments, no
/// whitespace, a path of letters, digits and `/ . _ - ~ +` only) and compared by scheme, host and path prefix at a `/`
/// boundary, so `https://allowed@evil`, `https://allowed.evil` and
/// `https://allowed/../x` never match.
pub fn url_allowed(url: &str, allow_list: &[String]) -> bool {
    let Some(candidate) = SimpleUrl::parse(url) else { return false };
    allow_list.iter().filter_map(|a| SimpleUrl::parse(a)).any(|allowed| {
        candidate.scheme == allowed.scheme
            && candidate.host == allowed.host
            && path_under(&candidate.path, &allowed.path)
    })
}

fn path_under(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    path == prefix || path.starts_with(&format!("{prefix}/"))
}

struct SimpleUrl {
    scheme: String,
    host: String,
    path: String,
}

impl SimpleUrl {
    fn parse(url: &str) -> Option<SimpleUrl> {
        if url.len() > 512 || url.chars().any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii()) {
            return None;
        }
        let (scheme, rest) = url.split_once("://")?;
        if scheme != "https" && scheme != "http" {
            return None;
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let host_ok = |h: &str| {
            !h.is_empty()
                && h.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        };
        if !host_ok(authority) {
            return None; // rejects userinfo (@), encoded hosts (%), and the like
        }
        // Feed paths are plain words: no escapes, queries, userinfo, and none
        // of the characters a shell, make or a config line would act on.
        let bad_path = !path.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | '~' | '+'))
            || path.split('/').any(|seg| seg == "." || seg == "..");
        if bad_path {
            return None;
        }
        Some(SimpleUrl { scheme: scheme.to_string(), host: authority.to_ascii_lowercase(), path: path.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names() {
        for ok in ["luci", "kmod-mt7915e", "libstdcpp6", "python3-ply", "luci-i18n-base-zh-cn", "libc++", "gstreamer1.0"] {
            assert!(package_entry("packages", ok).is_ok(), "{ok}");
        }
        assert!(package_entry("packages", "-busybox").is_ok());
        let too_long = "a".repeat(129);
        for bad in ["", "-", "--x", "a b", "a'b", "a\"b", "a;b", "$(reboot)", "a\nb", "a/b", "../x", ".hidden", too_long.as_str(), "ä"] {
            let err = package_entry("packages", bad).unwrap_err();
            assert_eq!(err.field, "packages");
        }
        assert!(package_entry("packages", &"a".repeat(128)).is_ok());
    }

    #[test]
    fn error_names_field_and_value() {
        let err = package_entry("packages", "tcp dump").unwrap_err().to_string();
        assert!(err.starts_with("packages: "), "{err}");
        assert!(err.contains("'tcp dump'"), "{err}");
        let err = package_entry("packages", "x\ny").unwrap_err().to_string();
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn targets_profiles_versions() {
        assert!(target("target", "mediatek/filogic").is_ok());
        assert!(target("target", "x86/64").is_ok());
        for bad in ["mediatek", "mediatek/filogic/x", "../etc", "Mediatek/filogic", "/filogic", "a/b c"] {
            assert!(target("target", bad).is_err(), "{bad}");
        }
        assert!(profile("profile", "glinet,gl-mt6000").is_ok());
        assert!(profile("profile", "generic").is_ok());
        assert!(profile("profile", "a;b").is_err());
        for ok in ["23.05.4", "24.10-SNAPSHOT", "SNAPSHOT", "24.10.0-rc1"] {
            assert!(version("version", ok).is_ok(), "{ok}");
        }
        for bad in ["", "../1", "1 2", "23.05.4;", "-1"] {
            assert!(version("version", bad).is_err(), "{bad}");
        }
        for ok in ["", "r24012-d8dd03c46f", "r11215+4-bba6646b5cba"] {
            assert!(version_code("version_code", ok).is_ok(), "{ok}");
        }
        for bad in ["24012", "r-abc", "rX-abc", "r1-xyz", "r1-", "r1+-ab"] {
            assert!(version_code("version_code", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn allow_list_bypasses() {
        let allow = vec!["https://downloads.openwrt.org/releases".to_string()];
        assert!(url_allowed("https://downloads.openwrt.org/releases/24.10.5/packages/x", &allow));
        assert!(url_allowed("https://DOWNLOADS.openwrt.org/releases", &allow));
        assert!(url_allowed("https://downloads.openwrt.org/releases/24.10.5/packages/aarch64_cortex-a53/base", &allow));
        assert!(url_allowed("https://downloads.openwrt.org/releases/~user/x+y", &allow));
        for bad in [
            "https://downloads.openwrt.org@evil.example/releases",
            "https://downloads.openwrt.org.evil.example/releases",
            "https://downloads.openwrt.org/releases/../../evil",
            "https://downloads.openwrt.org/releases/%2e%2e/evil",
            "https://downloads.openwrt.org/releasesevil",
            "https://downloads.openwrt.org/releases/x\nhttps://evil",
            "http://downloads.openwrt.org/releases/x",
            "ftp://downloads.openwrt.org/releases/x",
            "https://downloads.openwrt.org/other",
            "https://downloads.openwrt.org/releases/x?y",
            "https://downloads.openwrt.org/releases/$(reboot)",
            "https://downloads.openwrt.org/releases/x;reboot",
            "https://downloads.openwrt.org/releases/`id`",
            "https://downloads.openwrt.org/releases/x'y",
        ] {
            assert!(!url_allowed(bad, &allow), "{bad}");
        }
    }

    #[test]
    fn only_known_distributions() {
        assert!(distro("distro", "openwrt").is_ok());
        for bad in ["lede", "OpenWrt", "", "openwrt;x", "immortalwrt"] {
            assert_eq!(distro("distro", bad).unwrap_err().field, "distro", "{bad}");
        }
    }

    #[test]
    fn repository_names() {
        assert!(repository_name("repositories", "myfeed").is_ok());
        assert!(repository_name("repositories", "imagebuilder").is_err());
        assert!(repository_name("repositories", "a b").is_err());
    }

    #[test]
    fn defaults_limits() {
        assert!(defaults("defaults", "uci set x=y\n", 20480).is_ok());
        assert!(defaults("defaults", &"x".repeat(20481), 20480).is_err());
        assert!(defaults("defaults", "a\0b", 20480).is_err());
    }
}
