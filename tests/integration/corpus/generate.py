#!/usr/bin/env python3
"""Writes bad-requests.jsonl: build requests the edge must refuse with a 4xx
and a string `detail`, without queuing anything.

Each line is one JSON object:
  name    what the case tries (unique)
  layer   "syntax"   refused by the request parser (protocol crate); `field`
                     names the field the error must blame
          "upstream" well-formed, refused by the checks against upstream
                     metadata (unknown version, target, profile)
          "size"     refused for its size before parsing (413)
  field   (syntax only) the field named by the error
  body    the request as JSON, or
  raw     the request body as text (sent as its UTF-8 bytes), or
  raw_hex the request body as bytes, hex-encoded
  grow    (optional, with body) makes a field huge at load time, so this
          file stays small: {"field", "kind", "unit", "count"} (or a list of
          such) with kind
          string:        field = unit repeated count times
          list:          field = [unit] * count
          append_string: field gets one more entry: unit repeated count times
          map:           field = {unit + i: "1.0-r1" for i < count}
          map_key:       field = {unit repeated count times: value}
  raw_grow (optional, instead of body) {"before", "unit", "count", "after"}

Every case but the first is one valid request with one thing wrong, so that
the reason it is refused is the one its name says. The edge under test runs
with REPOSITORY_ALLOW_LIST = ALLOWED (below) and the default limits.

Run: python3 tests/integration/corpus/generate.py  (rewrites the file next to it)
"""
import json
import os

ALLOWED = "https://downloads.example.org/feeds"
BASE = {
    "version": "24.10.5",
    "target": "mediatek/filogic",
    "profile": "glinet,gl-mt6000",
    "packages": ["luci"],
}

cases = []
names = set()


def add(name, layer, field=None, **kw):
    assert name not in names, name
    names.add(name)
    case = {"name": name, "layer": layer}
    if field is not None:
        case["field"] = field
    case.update(kw)
    cases.append(case)


def with_(field, value, base=BASE):
    b = json.loads(json.dumps(base))
    b[field] = value
    return b


def without(field):
    b = json.loads(json.dumps(BASE))
    del b[field]
    return b


def field_case(field, name, value, blame=None):
    add(f"{field}: {name}", "syntax", blame or field, body=with_(field, value))


def pkg(name, entry, blame="packages"):
    add(f"packages: {name}", "syntax", blame, body=with_("packages", ["luci", entry]))


# ---------------------------------------------------------------- malformed JSON
raw_bodies = [
    ("empty body", ""),
    ("only whitespace", " \n\t "),
    ("truncated object", '{"version":'),
    ("truncated string", '{"version":"24.10'),
    ("missing closing brace", '{"version":"24.10.5","target":"mediatek/filogic"'),
    ("trailing comma", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000",}'),
    ("single quotes", "{'version':'24.10.5','target':'mediatek/filogic','profile':'glinet,gl-mt6000'}"),
    ("unquoted keys", '{version:"24.10.5",target:"mediatek/filogic",profile:"glinet,gl-mt6000"}'),
    ("line comment", '{"version":"24.10.5", // c\n"target":"mediatek/filogic","profile":"glinet,gl-mt6000"}'),
    ("block comment", '{"version":"24.10.5",/* c */"target":"mediatek/filogic","profile":"glinet,gl-mt6000"}'),
    ("trailing garbage", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000"} x'),
    ("two objects", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000"}{}'),
    ("byte order mark", '\ufeff{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000"}'),
    ("NaN", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000","rootfs_size_mb":NaN}'),
    ("Infinity", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000","rootfs_size_mb":Infinity}'),
    ("hex number", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000","rootfs_size_mb":0x100}'),
    ("leading zero number", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000","rootfs_size_mb":0256}'),
    ("plus number", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000","rootfs_size_mb":+256}'),
    ("raw newline in string", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000","packages":["lu\nci"]}'),
    ("raw tab in string", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000","packages":["lu\tci"]}'),
    ("bad escape", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000","packages":["lu\\xci"]}'),
    ("short unicode escape", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000","packages":["\\u12"]}'),
    ("lone high surrogate", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000","packages":["\\ud800"]}'),
    ("lone low surrogate", '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000","packages":["\\udc00x"]}'),
    ("key without value", '{"version":"24.10.5","target":"mediatek/filogic","profile"}'),
    ("query string instead of JSON", "version=24.10.5&target=mediatek/filogic&profile=glinet,gl-mt6000"),
    ("XML instead of JSON", "<build><version>24.10.5</version></build>"),
    ("YAML instead of JSON", "version: 24.10.5\ntarget: mediatek/filogic\nprofile: glinet,gl-mt6000\n"),
]
for name, raw in raw_bodies:
    add(f"body: {name}", "syntax", "body", raw=raw)

add("body: deeply nested arrays", "syntax", "body", raw_grow={"before": "", "unit": "[", "count": 100000, "after": ""})
add("body: deeply nested objects", "syntax", "body",
    raw_grow={"before": '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000","x":', "unit": '{"a":', "count": 20000, "after": "1"})

# Bytes that are not UTF-8, inside an otherwise fine request.
prefix = '{"version":"24.10.5","target":"mediatek/filogic","profile":"glinet,gl-mt6000","packages":["'
suffix = '"]}'
for name, bad in [
    ("overlong slash (C0 AF)", b"\xc0\xaf"),
    ("overlong dot-dot-slash", b"\xc0\xae\xc0\xae\xc0\xaf"),
    ("overlong NUL (C0 80)", b"\xc0\x80"),
    ("three-byte overlong (E0 80 AF)", b"\xe0\x80\xaf"),
    ("lone continuation byte", b"\x80"),
    ("truncated sequence", b"\xe2\x82"),
    ("invalid byte FF", b"\xff"),
    ("encoded surrogate (ED A0 80)", b"\xed\xa0\x80"),
    ("above U+10FFFF (F4 90 80 80)", b"\xf4\x90\x80\x80"),
    ("latin-1 e-acute", b"\xe9"),
]:
    data = prefix.encode() + b"luci" + bad + suffix.encode()
    add(f"body: invalid UTF-8, {name}", "syntax", "body", raw_hex=data.hex())
add("body: UTF-16 encoded", "syntax", "body",
    raw_hex=json.dumps(BASE).encode("utf-16").hex())

# Not an object at the top.
for name, value in [("array", [BASE]), ("string", "24.10.5"), ("number", 1), ("null", None), ("true", True), ("false", False)]:
    add(f"body: top level is {name}", "syntax", "body", body=value)

add("body: empty object", "syntax", "version", body={})
add("body: only unknown fields", "syntax", "version", body={"foo": "bar", "__proto__": {"version": "24.10.5"}})

# ---------------------------------------------------------------- required fields
for f in ["version", "target", "profile"]:
    add(f"{f}: missing", "syntax", f, body=without(f))
    field_case(f, "null", None)
    field_case(f, "empty string", "")

# ---------------------------------------------------------------- wrong types
wrong_types = [("number", 24), ("float", 24.1), ("true", True), ("list", ["x"]), ("object", {"x": "y"}),
               ("mongo-style operator", {"$ne": ""})]
for f in ["version", "target", "profile", "distro", "version_code", "defaults", "filesystem", "repositories_mode", "client"]:
    for name, v in wrong_types:
        if f in ("defaults", "filesystem", "repositories_mode", "client", "distro", "version_code") and name in ("float", "mongo-style operator"):
            continue
        field_case(f, f"is a {name}", v)
for name, v in [("string", "luci"), ("number", 1), ("object", {"luci": True}), ("true", True),
                ("list of numbers", [1, 2]), ("list with null", ["luci", None]), ("nested list", [["luci"]]),
                ("list with object", [{"name": "luci"}]), ("list with bool", ["luci", False])]:
    field_case("packages", f"is a {name}", v)
for name, v in [("list", ["luci"]), ("string", "luci=1"), ("number", 5), ("value a number", {"luci": 1}),
                ("value null", {"luci": None}), ("value a list", {"luci": ["1"]}), ("value an object", {"luci": {"v": "1"}})]:
    field_case("packages_versions", f"is a {name}", v)
for name, v in [("string true", "true"), ("number 1", 1), ("number 0", 0), ("string yes", "yes"), ("list", []), ("object", {})]:
    field_case("diff_packages", f"is a {name}", v)
for name, v in [("string", "256"), ("true", True), ("list", [256]), ("object", {"mb": 256})]:
    field_case("rootfs_size_mb", f"is a {name}", v)
for name, v in [("list", [ALLOWED]), ("string", ALLOWED), ("value a number", {"x": 1}), ("value a list", {"x": [ALLOWED]})]:
    field_case("repositories", f"is a {name}", v)
for name, v in [("string", "key"), ("number", 1), ("list of numbers", [1]), ("object", {"k": "v"})]:
    field_case("repository_keys", f"is a {name}", v)

# ---------------------------------------------------------------- distro, version, version_code
for name, v in [("upper case", "OpenWrt"), ("semicolon", "openwrt;reboot"), ("path", "../openwrt"),
                ("space", "open wrt"), ("33 characters", "o" * 33), ("unknown distribution", "lede"),
                ("homoglyph (Cyrillic o)", "\u043epenwrt")]:
    field_case("distro", name, v)
for name, v in [("space", "24.10 5"), ("trailing newline", "24.10.5\n"), ("path", "../24.10.5"),
                ("slash", "24.10.5/../../x"), ("leading dash", "-24.10.5"), ("leading dot", ".24"),
                ("semicolon", "24.10.5;reboot"), ("command substitution", "$(reboot)"), ("33 characters", "2" * 33),
                ("fullwidth digits", "\uff12\uff14.10.5"), ("zero-width space", "24.10\u200b.5"),
                ("NUL", "24.10.5\u0000"), ("underscore", "24_10_5"), ("make variable", "$(shell id)")]:
    field_case("version", name, v)
for name, v in [("no r", "29087-d9c5716d1d"), ("no hash", "r29087"), ("empty hash", "r29087-"),
                ("non-hex hash", "r29087-zzzz"), ("41 hex digits", "r1-" + "a" * 41), ("11 digits", "r" + "1" * 11 + "-abc"),
                ("space", "r29087 -d9c5716d1d"), ("shell", "r1-abc;reboot"), ("double plus", "r1++2-abc"),
                ("newline", "r29087-d9c5716d1d\n")]:
    field_case("version_code", name, v)

# ---------------------------------------------------------------- target
for name, v in [("no subtarget", "mediatek"), ("empty subtarget", "mediatek/"), ("empty target", "/filogic"),
                ("three parts", "mediatek/filogic/extra"), ("upper case", "MediaTek/filogic"),
                ("backslash", "mediatek\\filogic"), ("dot-dot", "../../etc/passwd"), ("dot-dot subtarget", "mediatek/.."),
                ("space", "mediatek/filogic x"), ("trailing newline", "mediatek/filogic\n"), ("NUL", "mediatek/filogic\u0000"),
                ("65 characters", "a" * 32 + "/" + "b" * 32), ("command substitution", "$(reboot)/x"),
                ("homoglyph (Cyrillic e)", "m\u0435diatek/filogic"), ("RTL override", "mediatek/\u202ecigolif"),
                ("percent-encoded slash", "mediatek%2ffilogic"), ("leading dash", "-x/filogic")]:
    field_case("target", name, v)
add("target: 10k characters", "syntax", "target", body=BASE, grow={"field": "target", "kind": "string", "unit": "a", "count": 10000})

# ---------------------------------------------------------------- profile
for name, v in [("space", "glinet gl-mt6000"), ("semicolon", "glinet;reboot"), ("command substitution", "$(reboot)"),
                ("backticks", "`reboot`"), ("make assignment", "x PACKAGES=evil"), ("equals", "PROFILE=x"),
                ("leading dash", "-glinet"), ("leading comma", ",glinet"), ("leading dot", ".glinet"),
                ("slash", "glinet/gl-mt6000"), ("dot-dot", "../../etc/passwd"), ("newline", "glinet\ngl-mt6000"),
                ("NUL", "glinet\u0000"), ("129 characters", "g" * 129), ("homoglyph (Cyrillic a)", "glinet,gl-mt6\u0430\u0430\u0430"),
                ("zero-width joiner", "glinet,gl-mt\u200d6000"), ("RTL override", "glinet,\u202e0006tm-lg"),
                ("fullwidth comma", "glinet\uff0cgl-mt6000"), ("non-breaking space", "glinet,gl-mt6000\u00a0"),
                ("pipe", "generic|id"), ("dollar brace", "${IFS}"), ("make shell", "$(shell reboot)")]:
    field_case("profile", name, v)
add("profile: 10k characters", "syntax", "profile", body=BASE, grow={"field": "profile", "kind": "string", "unit": "g", "count": 10000})

# ---------------------------------------------------------------- packages: injection and shape
for name, v in [
    ("empty name", ""), ("only dash", "-"), ("double dash", "--luci"), ("leading plus", "+luci"), ("leading dot", ".luci"),
    ("leading underscore", "_luci"), ("space", "tcp dump"), ("tab", "luci\t"), ("trailing space", "luci "),
    ("newline", "luci\nreboot"), ("carriage return", "luci\r"), ("NUL", "luci\u0000"), ("DEL", "luci\u007f"),
    ("escape char", "luci\u001b[31m"), ("single quote", "luci'"), ("double quote", "lu\"ci"),
    ("semicolon", "luci;reboot"), ("ampersand", "luci&&reboot"), ("pipe", "luci|reboot"), ("redirect out", "luci>/etc/passwd"),
    ("redirect in", "luci</etc/shadow"), ("command substitution", "$(reboot)"), ("backticks", "`reboot`"),
    ("dollar brace", "${IFS}reboot"), ("dollar variable", "$HOME"), ("make shell", "$(shell reboot)"),
    ("make value", "$(value PACKAGES)"), ("make double dollar", "$$(id)"), ("make assignment", "PACKAGES=evil"),
    ("make override", "override PROFILE=x"), ("glob star", "luci*"), ("glob question", "luc?"), ("glob class", "lu[c]i"),
    ("brace expansion", "{luci,evil}"), ("tilde", "~root"), ("hash comment", "luci#x"), ("bang", "luci!"),
    ("percent", "luci%00"), ("backslash", "luci\\"), ("slash", "luci/../x"), ("dot-dot", "../x"),
    ("absolute path", "/etc/passwd"), ("colon", "luci:amd64"), ("version constraint", "luci>=1.0"), ("at sign", "luci@1"),
    ("equals version", "luci=1.0"), ("comma list", "luci,tcpdump"), ("129 characters", "a" * 129),
    ("removal of bad name", "-$(reboot)"), ("removal with space", "-a b"),
    ("homoglyph (Cyrillic u)", "l\u0443ci"), ("homoglyph (Greek omicron)", "tcpd\u03bfump"),
    ("fullwidth letters", "\uff4c\uff55\uff43\uff49"), ("zero-width space", "lu\u200bci"), ("zero-width joiner", "lu\u200dci"),
    ("word joiner", "lu\u2060ci"), ("soft hyphen", "lu\u00adci"), ("RTL override", "\u202eicul"), ("LTR mark", "luci\u200e"),
    ("byte order mark", "\ufeffluci"), ("non-breaking space", "luci\u00a0"), ("ideographic space", "luci\u3000"),
    ("combining acute", "luci\u0301"), ("emoji", "luci\U0001f600"), ("line separator", "luci\u2028"),
    ("dotless i", "luc\u0131"), ("kelvin sign", "\u212amod-usb3"), ("fraction slash", "luci\u2044x"),
]:
    pkg(name, v)
add("packages: 1025 entries", "syntax", "packages", body=BASE, grow={"field": "packages", "kind": "list", "unit": "luci", "count": 1025})
add("packages: 2000 entries", "syntax", "packages", body=BASE, grow={"field": "packages", "kind": "list", "unit": "tcpdump", "count": 2000})
add("packages: 10k-character name", "syntax", "packages", body=BASE, grow={"field": "packages", "kind": "append_string", "unit": "a", "count": 10000})

# ---------------------------------------------------------------- packages_versions
for name, v in [("name with space", {"tcp dump": "1.0"}), ("name removal", {"-luci": "1.0"}),
                ("name command substitution", {"$(reboot)": "1.0"}), ("name empty", {"": "1.0"}),
                ("name homoglyph", {"l\u0443ci": "1.0"}), ("version with space", {"luci": "1 2"}),
                ("version empty", {"luci": ""}), ("version shell", {"luci": "1;reboot"}),
                ("version command substitution", {"luci": "$(id)"}), ("version 65 characters", {"luci": "1" * 65}),
                ("version newline", {"luci": "1.0\n"}), ("version slash", {"luci": "../1"}),
                ("name 129 characters", {"a" * 129: "1.0"})]:
    field_case("packages_versions", name, v)
add("packages_versions: 1025 entries", "syntax", "packages_versions", body=BASE,
    grow={"field": "packages_versions", "kind": "map", "unit": "pkg", "count": 1025})
add("packages_versions: 1000 packages plus 25 versioned (1024 in all)", "syntax", "packages_versions", body=BASE,
    grow=[{"field": "packages", "kind": "list", "unit": "luci", "count": 1000},
          {"field": "packages_versions", "kind": "map", "unit": "pkg", "count": 25}])

# ---------------------------------------------------------------- defaults, rootfs_size_mb, filesystem
add("defaults: 20481 bytes (one over the limit)", "syntax", "defaults", body=BASE,
    grow={"field": "defaults", "kind": "string", "unit": "x", "count": 20481})
add("defaults: 200 KB", "syntax", "defaults", body=BASE, grow={"field": "defaults", "kind": "string", "unit": "#", "count": 200 * 1024})
add("defaults: 20480 bytes of multi-byte characters", "syntax", "defaults", body=BASE,
    grow={"field": "defaults", "kind": "string", "unit": "\u00e9", "count": 10241})
field_case("defaults", "NUL byte", "uci set x=y\u0000\nreboot")
field_case("defaults", "only NUL", "\u0000")
for name, v in [("zero", 0), ("negative", -1), ("negative zero", -0.0), ("fraction", 1.5), ("exponent", 1e3),
                ("one over the maximum", 1025), ("2^32", 4294967296), ("2^64", 18446744073709551616),
                ("huge float", 1e300)]:
    field_case("rootfs_size_mb", name, v)
for name, v in [("unknown", "ntfs"), ("upper case", "SQUASHFS"), ("trailing space", "squashfs "),
                ("shell", "squashfs;reboot"), ("path", "../ext4"), ("NUL", "ext4\u0000"),
                ("homoglyph", "ext\u0664"), ("make variable", "$(FS)")]:
    field_case("filesystem", name, v)

# ---------------------------------------------------------------- repositories: names and the allow-list
def repo(name, url, repo_name="extra"):
    add(f"repositories: {name}", "syntax", "repositories", body=with_("repositories", {repo_name: url}))

for name, rn in [("name with space", "my repo"), ("name path", "../x"), ("name empty", ""), ("name dot", "my.repo"),
                 ("name shell", "x;reboot"), ("name 65 characters", "r" * 65), ("name homoglyph", "\u0435xtra")]:
    repo(name, ALLOWED + "/x", rn)
add("repositories: name 10k characters", "syntax", "repositories", body=BASE,
    grow={"field": "repositories", "kind": "map_key", "unit": "r", "count": 10000, "value": ALLOWED + "/x"})
host = "downloads.example.org"
for name, url in [
    ("not on the list", "https://evil.example/feeds/x"),
    ("userinfo with the allowed host", f"https://{host}@evil.example/feeds/x"),
    ("userinfo with user and password", f"https://user:pass@{host}/feeds/x"),
    ("userinfo with the allowed URL", f"https://{host}/feeds@evil.example/feeds/x"),
    ("host suffix", f"https://{host}.evil.example/feeds/x"),
    ("host prefix", f"https://evil{host}/feeds/x"),
    ("host with dash prefix", f"https://evil-{host}/feeds/x"),
    ("parent host", "https://example.org/feeds/x"),
    ("trailing dot host", f"https://{host}./feeds/x"),
    ("other port", f"https://{host}:8443/feeds/x"),
    ("path prefix without a slash", f"https://{host}/feedsevil/x"),
    ("other path", f"https://{host}/other/x"),
    ("root path", f"https://{host}/"),
    ("no path", f"https://{host}"),
    ("dot-dot out of the prefix", f"https://{host}/feeds/../evil"),
    ("dot-dot twice", f"https://{host}/feeds/x/../../evil"),
    ("dot segment", f"https://{host}/feeds/./x"),
    ("encoded dot-dot", f"https://{host}/feeds/%2e%2e/evil"),
    ("upper-case encoded dot-dot", f"https://{host}/feeds/%2E%2E/evil"),
    ("encoded slash", f"https://{host}/feeds%2f..%2fevil"),
    ("double-encoded dot-dot", f"https://{host}/feeds/%252e%252e/evil"),
    ("encoded host", f"https://%64ownloads.example.org/feeds/x"),
    ("backslash", f"https://{host}/feeds\\..\\evil"),
    ("backslash authority", f"https://{host}\\@evil.example/feeds/x"),
    ("newline", f"https://{host}/feeds/x\nhttps://evil.example/"),
    ("carriage return", f"https://{host}/feeds/x\r"),
    ("tab", f"https://{host}/feeds/\tx"),
    ("space", f"https://{host}/feeds/x y"),
    ("NUL", f"https://{host}/feeds/x\u0000.evil"),
    ("query", f"https://{host}/feeds/x?u=https://evil.example"),
    ("fragment", f"https://{host}/feeds/x#frag"),
    ("http instead of https", f"http://{host}/feeds/x"),
    ("upper-case scheme", f"HTTPS://{host}/feeds/x"),
    ("ftp scheme", f"ftp://{host}/feeds/x"),
    ("file scheme", "file:///etc/passwd"),
    ("file scheme with the host", f"file://{host}/feeds/x"),
    ("javascript scheme", "javascript:alert(1)"),
    ("data scheme", "data:text/plain,src/gz x https://evil"),
    ("gopher scheme", f"gopher://{host}/feeds/x"),
    ("scheme-relative", f"//{host}/feeds/x"),
    ("no scheme", f"{host}/feeds/x"),
    ("empty URL", ""),
    ("IDN homoglyph host", "https://d\u043ewnloads.example.org/feeds/x"),
    ("punycode host", "https://xn--dwnloads-6ve.example.org/feeds/x"),
    ("fullwidth dot host", f"https://downloads\uff0eexample.org/feeds/x"),
    ("IPv4 host", "https://93.184.216.34/feeds/x"),
    ("IPv6 host", "https://[::1]/feeds/x"),
    ("localhost", "https://localhost/feeds/x"),
    ("opkg option injection", f"{ALLOWED}/x --force-depends"),
    ("repositories.conf line injection", f"{ALLOWED}/x\nsrc/gz evil https://evil.example/"),
    ("make variable", f"{ALLOWED}/$(shell reboot)"),
    ("shell in path", f"{ALLOWED}/$(reboot)"),
    ("RTL override in path", f"{ALLOWED}/\u202ex"),
    ("zero-width space in host", f"https://downloads\u200b.example.org/feeds/x"),
    ("600 characters", f"{ALLOWED}/" + "x" * 600),
]:
    repo(name, url)
for name, v in [("merge", "merge"), ("upper case", "APPEND"), ("trailing space", "replace "), ("shell", "append;reboot"),
                ("NUL", "append\u0000")]:
    field_case("repositories_mode", name, v)
for name, v in [("empty key", [""]), ("control character", ["key\u0001"]), ("NUL", ["key\u0000"]),
                ("carriage return", ["untrusted comment\r\nRWS"]), ("escape", ["\u001b[2J"])]:
    field_case("repository_keys", name, v)
add("repository_keys: 17 keys", "syntax", "repository_keys", body=BASE,
    grow={"field": "repository_keys", "kind": "list", "unit": "RWSkey", "count": 17})
add("repository_keys: 4097-character key", "syntax", "repository_keys", body=with_("repository_keys", []),
    grow={"field": "repository_keys", "kind": "append_string", "unit": "k", "count": 4097})

# ---------------------------------------------------------------- client
for name, v in [("newline", "luci/24.10\nX-Evil: 1"), ("NUL", "luci\u0000"), ("escape", "luci\u001b[31m"),
                ("129 characters", "c" * 129)]:
    field_case("client", name, v)

# ---------------------------------------------------------------- well-formed, but not upstream
for name, body in [
    ("unknown version", with_("version", "99.99.0")),
    ("unpublished snapshot", with_("version", "SNAPSHOT")),
    ("unknown branch snapshot", with_("version", "25.12-SNAPSHOT")),
    ("unknown target", with_("target", "mediatek/nosuch")),
    ("target of another release", with_("target", "ath79/generic")),
    ("unknown profile", with_("profile", "vendor,nosuch-device")),
    ("profile of another target", with_("profile", "generic")),
    ("profile upper case", with_("profile", "GLINET,GL-MT6000")),
    ("profile prefix", with_("profile", "glinet,gl-mt")),
    ("profile with version suffix", with_("profile", "glinet,gl-mt6000-v2")),
]:
    add(f"upstream: {name}", "upstream", body=body)

# ---------------------------------------------------------------- over the body limit (256 KiB)
add("size: 300 KB client string", "size", body=BASE, grow={"field": "client", "kind": "string", "unit": "a", "count": 300 * 1024})
add("size: 1 MB defaults", "size", body=BASE, grow={"field": "defaults", "kind": "string", "unit": "x", "count": 1024 * 1024})
add("size: 100k packages", "size", body=BASE, grow={"field": "packages", "kind": "list", "unit": "luci", "count": 100000})
add("size: 300 KB of whitespace", "size", raw_grow={"before": "", "unit": " ", "count": 300 * 1024, "after": json.dumps(BASE)})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bad-requests.jsonl")
with open(out, "w", encoding="ascii") as f:
    for c in cases:
        f.write(json.dumps(c, ensure_ascii=True, separators=(",", ":")) + "\n")
print(f"wrote {len(cases)} cases to {out}")
