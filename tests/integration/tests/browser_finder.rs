//! The app in headless Chromium against the real stack (mirror, the edge
//! under wrangler dev, the builder running the ImageBuilder stand-in):
//! - the router-free page: find the GL-MT6000 by typing, pick 24.10.5, see
//!   its upstream images, add a package, build, download and check the
//!   image; paste a router's board and package list and see the upgrade
//!   preview; both again at 360 x 640 with no horizontal overflow and
//!   44 px touch targets at every step;
//! - the router page: the progress bars and the phase text change as the
//!   build waits in the queue, builds, downloads and uploads.
//!
//! Expected values come from the fixtures (profiles.json, overviews) and
//! the generated mirror's package indexes, never from the page itself.
//! Screenshots of every main step land in the test's scratch folder.

// Each test holds `serial()` for its whole run; every test has its own
// runtime thread, so the lock held across awaits blocks only the others.
#![allow(clippy::await_holding_lock)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use asu_protocol::canonical::request_hash;
use asu_protocol::request::{BuildRequest, Limits};
use integration::contract::mirror_json;
use integration::http::{get, post_json};
use integration::stack::{mirror_root, scratch, serial, shared_dir, Builder, Edge, Mirror, Router};
use integration::webdriver::Browser;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const VERSION: &str = "24.10.5";
const TARGET: &str = "mediatek/filogic";
const PROFILE: &str = "glinet_gl-mt6000";
const BOARD_FILE: &str = "glinet_gl-mt6000-23.05.4.json";
/// A first build also downloads and unpacks the ImageBuilder.
const BUILD_TIMEOUT: Duration = Duration::from_secs(180);
const UI_TIMEOUT: Duration = Duration::from_secs(30);

struct Stack {
    edge: Edge,
    _builder: Builder,
    _mirror: Mirror,
    dir: PathBuf,
}

/// One stack for the whole file; the tests take turns (`serial`) so that
/// the router test's queue holds only its own builds.
fn stack() -> &'static Stack {
    static STACK: OnceLock<Stack> = OnceLock::new();
    STACK.get_or_init(|| {
        let dir = scratch("browser-finder");
        let mirror = Mirror::start(&dir);
        let edge = Edge::start(Edge::config(&mirror.url, &dir), &dir);
        let builder = Builder::start(&Builder::config(&edge, &dir), "builder-1", &dir);
        Stack { edge, _builder: builder, _mirror: mirror, dir }
    })
}

// ---------------------------------------------------------------- fixtures

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A release's profiles.json as upstream published it (the fixture).
fn fixture_profiles(version: &str) -> Value {
    read_json(&shared_dir().join(format!("fixtures/upstream/releases/{version}/targets/{TARGET}/profiles.json")))
}

/// The virtual router's board file.
fn board_file() -> Value {
    read_json(&integration::stack::repo_root().join("tests/standins/boards").join(BOARD_FILE))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default()
}

/// A profile's packages without edits: the release defaults, then the
/// device packages (`-name` there drops a default).
fn profile_defaults(profiles: &Value, profile: &str) -> BTreeSet<String> {
    let mut out: BTreeSet<String> = strings(&profiles["default_packages"]).into_iter().collect();
    for p in strings(&profiles["profiles"][profile]["device_packages"]) {
        match p.strip_prefix('-') {
            Some(dropped) => {
                out.remove(dropped);
            }
            None => {
                out.insert(p);
            }
        }
    }
    out
}

/// Every 24.10.5 package a filogic build can get, from the mirror's indexes.
fn available_24_10_5() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut add = |rel: &str| {
        for (k, v) in mirror_json(rel)["packages"].as_object().unwrap() {
            out.entry(k.clone()).or_insert_with(|| v.as_str().unwrap().to_string());
        }
    };
    for feed in ["base", "packages", "luci"] {
        add(&format!("releases/{VERSION}/packages/aarch64_cortex-a53/{feed}/index.json"));
    }
    add(&format!("releases/{VERSION}/targets/{TARGET}/packages/index.json"));
    out
}

/// Which packages provide each virtual name (`Provides:` in the mirror's
/// 24.10.5 `Packages` files), e.g. nftables-json provides nftables.
fn providers_24_10_5() -> BTreeMap<String, Vec<String>> {
    let mut dirs: Vec<String> =
        ["base", "packages", "luci"].iter().map(|f| format!("releases/{VERSION}/packages/aarch64_cortex-a53/{f}")).collect();
    dirs.push(format!("releases/{VERSION}/targets/{TARGET}/packages"));
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for dir in dirs {
        let text = std::fs::read_to_string(mirror_root().join(&dir).join("Packages")).unwrap_or_default();
        let mut name = String::new();
        for line in text.lines() {
            if let Some(n) = line.strip_prefix("Package: ") {
                name = n.trim().to_string();
            } else if let Some(list) = line.strip_prefix("Provides: ") {
                for virtual_name in list.split(',').map(|v| v.split_whitespace().next().unwrap_or("")).filter(|v| !v.is_empty()) {
                    out.entry(virtual_name.to_string()).or_default().push(name.clone());
                }
            }
        }
    }
    out
}

/// Profile ids whose titles, id, board name or target contain `q`
/// (also with only letters and digits compared), across the mirror's releases.
fn devices_matching(q: &str) -> BTreeSet<String> {
    let squash = |s: &str| s.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>().to_lowercase();
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(mirror_root().join("releases")).unwrap() {
        let overview = entry.unwrap().path().join(".overview.json");
        if !overview.exists() {
            continue;
        }
        for p in read_json(&overview)["profiles"].as_array().unwrap() {
            let id = p["id"].as_str().unwrap_or_default();
            let mut words = vec![id.to_string(), id.replacen('_', ",", 1), p["target"].as_str().unwrap_or_default().to_string()];
            for t in p["titles"].as_array().into_iter().flatten() {
                for field in ["vendor", "model", "variant", "title"] {
                    if let Some(s) = t[field].as_str() {
                        words.push(s.to_string());
                    }
                }
            }
            let all = words.join(" ");
            if all.to_lowercase().contains(&q.to_lowercase()) || squash(&all).contains(&squash(q)) {
                out.insert(id.to_string());
            }
        }
    }
    out
}

/// The JSON the stand-in writes before the fwtool trailer: what the image holds.
fn image_contents(image: &[u8]) -> Value {
    let n = image.len();
    let trailer = u32::from_be_bytes(image[n - 4..].try_into().unwrap()) as usize;
    serde_json::from_slice(&image[..n - trailer]).expect("a stand-in image body is JSON")
}

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The hash of a request as the edge computes it, from a request written here.
fn hash_of(req: &BuildRequest) -> String {
    request_hash(&BuildRequest::from_json(&serde_json::to_vec(req).unwrap(), &Limits::default()).unwrap())
}

// ------------------------------------------------------------ the browser

/// Screenshots of one flow; on a phone, every step also checks the layout.
struct Steps<'a> {
    b: &'a Browser,
    dir: PathBuf,
    prefix: &'static str,
    phone: bool,
    n: u32,
}

impl<'a> Steps<'a> {
    fn new(b: &'a Browser, dir: &Path, prefix: &'static str, phone: bool) -> Self {
        Steps { b, dir: dir.to_path_buf(), prefix, phone, n: 0 }
    }

    /// Screenshots the page with `show` (a CSS selector) scrolled to the middle.
    async fn step(&mut self, name: &str, show: &str) {
        self.b
            .eval_with(
                "const e = document.querySelector(arguments[0]); if (e) e.scrollIntoView({block: 'center'}); return !!e;",
                vec![json!(show)],
            )
            .await;
        self.n += 1;
        let path = self.dir.join(format!("{}-{:02}-{name}.png", self.prefix, self.n));
        self.b.screenshot(&path).await;
        if self.phone {
            assert_phone_layout(self.b, &format!("{} step {name} ({})", self.prefix, path.display())).await;
        }
    }
}

/// No horizontal scrolling, and every visible control at least 44 x 44 px.
async fn assert_phone_layout(b: &Browser, step: &str) {
    let v = b
        .eval(
            r#"
            const vw = window.innerWidth;
            const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
                (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '') +
                ' "' + (e.textContent || e.value || '').trim().slice(0, 30) + '"';
            const small = [];
            const controls = '.asu button, .asu select, .asu textarea, .asu summary, .asu a, ' +
                '.asu input:not([type=checkbox]):not([type=radio]):not([type=hidden])';
            for (const e of document.querySelectorAll(controls)) {
                const r = e.getBoundingClientRect();
                if (r.width === 0 && r.height === 0) continue;
                if (getComputedStyle(e).visibility === 'hidden') continue;
                if (r.height < 44 || r.width < 44) small.push(name(e) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
            }
            const wide = [];
            for (const e of document.querySelectorAll('body *')) {
                const r = e.getBoundingClientRect();
                if (r.width > 0 && r.right > vw + 0.5) wide.push(name(e) + ' right=' + Math.round(r.right));
            }
            return {vw, sw: document.documentElement.scrollWidth, small, wide: wide.slice(0, 8)};
            "#,
        )
        .await;
    let (vw, sw) = (v["vw"].as_f64().unwrap(), v["sw"].as_f64().unwrap());
    // A page wider than the screen makes a phone zoom out, which widens innerWidth.
    assert_eq!(vw, 360.0, "{step}: the viewport is {vw} CSS px wide, not the phone's 360; sticking out: {}", v["wide"]);
    assert!(sw <= vw, "{step}: horizontal overflow, scrollWidth {sw} > innerWidth {vw}; sticking out: {}", v["wide"]);
    assert_eq!(v["small"], json!([]), "{step}: touch targets smaller than 44 x 44 px");
}

/// Waits until the `attr` values of the elements matching `css` are `want` (as a set).
async fn wait_for_set(b: &Browser, css: &str, attr: &str, want: &BTreeSet<String>, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let have: BTreeSet<String> = b.attrs(css, attr).await.into_iter().collect();
        if &have == want {
            return;
        }
        if Instant::now() > deadline {
            panic!("{css} [{attr}]: {have:?}, expected {want:?}; page text:\n{}", b.page_text().await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Text of `css` if it shows any.
async fn shown(b: &Browser, css: &str) -> Option<String> {
    b.text(css).await.filter(|t| !t.trim().is_empty())
}

// ------------------------------------------------------------- the flows

/// Find, pick, customise, build, download and check, on the router-free page.
async fn find_customise_build(b: &Browser, s: &Stack, prefix: &'static str, phone: bool) {
    let edge = &s.edge.url;
    let mut steps = Steps::new(b, &s.dir, prefix, phone);
    let profiles = fixture_profiles(VERSION);
    let profile = &profiles["profiles"][PROFILE];
    let version_code = profiles["version_code"].as_str().unwrap();

    b.goto(&format!("{edge}/")).await;
    b.wait_for("#device-search", UI_TIMEOUT).await;
    steps.step("page", "#device-search").await;

    // Search: exactly the devices the overviews have with "mt6000" somewhere.
    b.type_into("#device-search", "mt6000").await;
    let want = devices_matching("mt6000");
    assert!(want.contains(PROFILE), "the fixtures' overviews lack {PROFILE}: {want:?}");
    wait_for_set(b, "#device-results button[data-id]", "data-id", &want, UI_TIMEOUT).await;
    let item = format!("#device-results button[data-id=\"{PROFILE}\"]");
    assert_eq!(b.attrs(&item, "data-target").await, [TARGET]);
    let title = format!("{} {}", profile["titles"][0]["vendor"].as_str().unwrap(), profile["titles"][0]["model"].as_str().unwrap());
    let label = b.text(&item).await.unwrap_or_default();
    assert!(label.contains(&title), "result {label:?} does not name {title:?}");
    steps.step("search", "#device-results").await;

    // Pick the device, then the release.
    b.click(&item).await;
    b.wait_for("#release-select", UI_TIMEOUT).await;
    let releases = b.attrs("#release-select option", "value").await;
    for v in ["23.05.4", VERSION] {
        assert!(releases.iter().any(|r| r == v), "the release list {releases:?} lacks {v}, which has the device");
    }
    b.click(&format!("#release-select option[value=\"{VERSION}\"]")).await;
    b.wait_until("the release is picked", &format!("return document.querySelector('#release-select').value === '{VERSION}'"), UI_TIMEOUT)
        .await;

    // The images are upstream's for this profile: names, types and sha256.
    let mut want_images: Vec<(String, String, String)> = profile["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap().into(), i["type"].as_str().unwrap().into(), i["sha256"].as_str().unwrap().into()))
        .collect();
    want_images.sort();
    let count = want_images.len();
    b.wait_until("the image list", &format!("return document.querySelectorAll('#image-list li').length === {count}"), UI_TIMEOUT).await;
    let shown_images = b
        .eval(
            "return Array.from(document.querySelectorAll('#image-list li')).map(li => [li.dataset.name, li.dataset.type, \
             li.querySelector('code.asu-sha').textContent.trim(), li.querySelector('a.asu-download').href]);",
        )
        .await;
    let mut have_images = Vec::new();
    for row in shown_images.as_array().unwrap() {
        let r: Vec<String> = serde_json::from_value(row.clone()).unwrap();
        let path = format!("/releases/{VERSION}/targets/{TARGET}/{}", r[0]);
        assert!(r[3].ends_with(&path), "the link of {} is {}, expected …{path}", r[0], r[3]);
        have_images.push((r[0].clone(), r[1].clone(), r[2].clone()));
    }
    have_images.sort();
    assert_eq!(have_images, want_images, "the page's images are not upstream's");
    let title_text = b.wait_for_text("#device-title", |t| !t.is_empty(), None, UI_TIMEOUT).await;
    assert!(title_text.contains(profile["titles"][0]["model"].as_str().unwrap()), "{title_text}");
    let kernel = profiles["linux_kernel"]["version"].as_str().unwrap();
    assert!(b.texts("#kernel-version").await.iter().any(|k| k.contains(kernel)), "the kernel {kernel} is not shown");
    steps.step("device", "#image-list").await;

    // Add tcpdump: the index suggests it with its version, it joins the defaults.
    b.wait_for_text("#package-index-state", |t| t.contains("packages in this release"), None, UI_TIMEOUT).await;
    let available = available_24_10_5();
    b.type_into("#package-search", "tcpdump").await;
    let suggested = b
        .wait_until(
            "tcpdump suggested",
            "const li = Array.from(document.querySelectorAll('#package-suggestions li')).find(l => \
             l.querySelector('span').textContent.trim() === 'tcpdump'); return li ? li.textContent : null;",
            UI_TIMEOUT,
        )
        .await;
    assert!(suggested.as_str().unwrap().contains(&available["tcpdump"]), "suggestion {suggested} lacks the index's version");
    steps.step("package-search", "#package-suggestions").await;
    b.click("#package-add").await;
    b.wait_for("#selected-packages li[data-package=\"tcpdump\"]", UI_TIMEOUT).await;
    let mut want_selected = profile_defaults(&profiles, PROFILE);
    want_selected.insert("tcpdump".into());
    wait_for_set(b, "#selected-packages li[data-package]", "data-package", &want_selected, UI_TIMEOUT).await;
    let tag = b.texts("#selected-packages li[data-package=\"tcpdump\"] .asu-tag").await;
    assert_eq!(tag, ["added"]);
    let search = b.eval("return location.search").await.as_str().unwrap_or_default().to_string();
    for part in [format!("version={VERSION}"), format!("id={PROFILE}"), "packages=tcpdump".into()] {
        assert!(search.contains(&part), "the address {search:?} lacks {part}");
    }
    steps.step("package-added", "#selected-packages li[data-package=\"tcpdump\"]").await;

    // Build, following the page to the end.
    b.click("#build-button").await;
    let deadline = Instant::now() + BUILD_TIMEOUT;
    let mut saw_progress = false;
    let done = loop {
        if let Some(t) = shown(b, "#build-done").await {
            break t;
        }
        if let Some(e) = shown(b, "#error").await {
            panic!("the build failed on the page: {e}");
        }
        if !saw_progress && shown(b, "#build-status").await.is_some() {
            saw_progress = true;
            steps.step("building", "#build-progress").await;
        }
        assert!(Instant::now() < deadline, "no #build-done after {BUILD_TIMEOUT:?}:\n{}", b.page_text().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(done.contains(VERSION) && done.contains(version_code), "{done}");
    steps.step("built", "#build-done").await;

    // The request the page should have sent: the defaults plus tcpdump.
    let mut expected = BuildRequest::new(VERSION, TARGET, PROFILE);
    expected.packages = vec!["tcpdump".into()];
    let hash = hash_of(&expected);
    let answer = get(&format!("{edge}/api/v1/build/{hash}")).await;
    assert_eq!(answer.status, 200, "no finished build for the request the page should have sent");
    let build = answer.json();
    let edge_images = build["images"].as_array().unwrap();
    let page_images: BTreeSet<String> = b.attrs("#build-images li[data-name]", "data-name").await.into_iter().collect();
    let announced_names: BTreeSet<String> = edge_images.iter().map(|i| i["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(page_images, announced_names, "the page lists other images than the edge's build");
    let sysupgrade = edge_images.iter().find(|i| i["type"] == "sysupgrade").expect("a sysupgrade image");
    let (name, announced) = (sysupgrade["name"].as_str().unwrap(), sysupgrade["sha256"].as_str().unwrap());
    let li = format!("#build-images li[data-name=\"{name}\"]");
    let url = format!("{edge}/store/{}/{name}", build["bin_dir"].as_str().unwrap().trim_matches('/'));
    assert_eq!(b.attrs(&format!("{li} a.asu-download"), "href").await, [url.as_str()]);
    assert_eq!(b.texts(&format!("{li} code.asu-sha")).await, [announced.to_string()]);

    // Download it as the link says and look inside.
    let file = get(&url).await;
    assert_eq!(file.status, 200);
    let actual = sha256(&file.body);
    assert_eq!(actual, announced, "the stored image is not the one the edge announced");
    let inside = image_contents(&file.body);
    assert!(inside["installed"]["tcpdump"].is_string(), "tcpdump is not in the image: {}", inside["installed"]);
    let providers = providers_24_10_5();
    for p in &want_selected {
        let by_name = inside["installed"][p].is_string();
        let provided = providers.get(p).is_some_and(|by| by.iter().any(|q| inside["installed"][q].is_string()));
        assert!(by_name || provided, "the default {p} is not in the image (nor a package providing it)");
    }

    // The page's own download with its sha256 check.
    b.click(&format!("{li} button.asu-verify")).await;
    let verdict = b
        .wait_for_text("#verify-status", |t| t.starts_with("sha256 checked") || t.contains("damaged") || t.contains("Could not"), None, UI_TIMEOUT)
        .await;
    assert!(verdict.starts_with("sha256 checked") && verdict.contains(name) && verdict.contains(&actual), "{verdict}");
    steps.step("verified", "#verify-status").await;
}

/// Paste a 23.05.4 GL-MT6000's board and packages; see what 24.10.5 brings.
async fn preview_upgrade(b: &Browser, s: &Stack, prefix: &'static str, phone: bool) {
    let mut steps = Steps::new(b, &s.dir, prefix, phone);
    let board_file = board_file();
    let board = &board_file["board"];
    let world: BTreeMap<String, String> = serde_json::from_value(board_file["packages"]["world"].clone()).unwrap();
    let new = fixture_profiles(VERSION);
    let old = fixture_profiles(board["release"]["version"].as_str().unwrap());

    b.goto(&format!("{}/", s.edge.url)).await;
    b.wait_for("#board-paste", UI_TIMEOUT).await;
    // `ubus call system board` prints pretty JSON; `opkg list-installed` "name - version" lines.
    b.paste_into("#board-paste", &serde_json::to_string_pretty(board).unwrap()).await;
    let listing: String = world.iter().map(|(n, v)| format!("{n} - {v}\n")).collect();
    b.paste_into("#packages-paste", &listing).await;
    steps.step("pasted", "#packages-paste").await;

    b.click("#preview-button").await;
    let line = b.wait_for_text("#preview-version", |t| t.contains("OpenWrt"), Some("#preview-error"), UI_TIMEOUT).await;
    let model = new["profiles"][PROFILE]["titles"][0]["model"].as_str().unwrap();
    for part in [VERSION, new["version_code"].as_str().unwrap(), model] {
        assert!(line.contains(part), "{line:?} lacks {part}");
    }
    steps.step("preview", "#upgrade-preview").await;

    // Packages that became defaults of this device and are not installed
    // are added (fitblk on filogic in 24.10); each is listed once.
    let newly_default: BTreeSet<String> = profile_defaults(&new, PROFILE)
        .difference(&profile_defaults(&old, PROFILE))
        .filter(|p| !world.contains_key(*p))
        .cloned()
        .collect();
    assert!(newly_default.contains("fitblk"), "the fixtures changed: {newly_default:?}");
    let replacements = b.texts("#preview-replacements li").await;
    assert_eq!(replacements.len(), newly_default.len(), "replacements {replacements:?}, expected one per {newly_default:?}");
    for p in &newly_default {
        assert!(replacements.iter().any(|r| r.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).any(|w| w == p)), "{p} missing from {replacements:?}");
    }

    // Version changes: every installed package whose 24.10.5 version differs, and the added ones.
    let available = available_24_10_5();
    let mut want_changes = BTreeSet::new();
    for (name, current) in &world {
        let to = available.get(name).unwrap_or_else(|| panic!("{name} is not in {VERSION}"));
        if to != current {
            want_changes.insert(format!("{name}: {current} → {to}"));
        }
    }
    for name in &newly_default {
        want_changes.insert(format!("{name}: new, {}", available[name]));
    }
    let have_changes: BTreeSet<String> = b.texts("#preview-changes li").await.into_iter().collect();
    assert_eq!(have_changes, want_changes, "the version changes differ");
    let text = b.page_text().await;
    assert!(text.contains(&format!("your {} packages", world.len())), "the preview does not count the {} pasted packages", world.len());

    // The offered build: this device in 24.10.5 with the router's packages and the new defaults.
    b.click("#preview-build").await;
    b.wait_until("the offered build opens", &format!("const s = document.querySelector('#release-select'); return s && s.value === '{VERSION}'"), UI_TIMEOUT)
        .await;
    // Every installed package and every new default is in it; anything
    // else is a default of the new release the router lacks (the page keeps
    // those, unlike the router page's complete-set request).
    let mut want_selected: BTreeSet<String> = world.keys().cloned().collect();
    want_selected.extend(newly_default.iter().cloned());
    let new_defaults = profile_defaults(&new, PROFILE);
    let deadline = Instant::now() + UI_TIMEOUT;
    let have_selected = loop {
        let have: BTreeSet<String> = b.attrs("#selected-packages li[data-package]", "data-package").await.into_iter().collect();
        let lacking: Vec<_> = want_selected.difference(&have).cloned().collect();
        if lacking.is_empty() {
            break have;
        }
        assert!(Instant::now() < deadline, "the offered build lacks {lacking:?}; it has {have:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let extra: Vec<_> = have_selected.difference(&want_selected).filter(|p| !new_defaults.contains(*p)).collect();
    assert!(extra.is_empty(), "the offered build has {extra:?}, neither installed nor a default");
    let search = b.eval("return location.search").await.as_str().unwrap_or_default().to_string();
    assert!(search.contains(&format!("id={PROFILE}")) && search.contains(&format!("version={VERSION}")), "{search}");
    steps.step("offered-build", "#device-title").await;
}

#[tokio::test]
async fn router_free_find_customise_build_and_check_at_desktop_size() {
    let _turn = serial();
    let s = stack();
    let b = Browser::start(&s.dir, 1280, 900).await;
    find_customise_build(&b, s, "desktop-build", false).await;
    b.close().await;
}

#[tokio::test]
async fn router_free_upgrade_preview_at_desktop_size() {
    let _turn = serial();
    let s = stack();
    let b = Browser::start(&s.dir, 1280, 900).await;
    preview_upgrade(&b, s, "desktop-preview", false).await;
    b.close().await;
}

#[tokio::test]
async fn router_free_flows_on_a_phone() {
    let _turn = serial();
    let s = stack();
    let b = Browser::start(&s.dir, 500, 800).await;
    b.set_viewport(360, 640, true).await;
    find_customise_build(&b, s, "phone-build", true).await;
    preview_upgrade(&b, s, "phone-preview", true).await;
    b.close().await;
}

// ------------------------------------------------------- the router page

/// What the router page's progress rows show at one moment.
#[derive(Debug, Clone, serde::Deserialize)]
struct Sample {
    t: f64,
    /// (value, max); value `None` for an indeterminate bar; the row absent: `None`.
    queue: Option<(Option<f64>, f64)>,
    position: Option<String>,
    phase_bar: Option<(Option<f64>, f64)>,
    phase: Option<String>,
    download: Option<(Option<f64>, f64)>,
    upload: Option<(Option<f64>, f64)>,
    reboot: Option<(Option<f64>, f64)>,
    reboot_wait: Option<String>,
    status: Option<String>,
}

/// Records every change of the progress rows in the page: a
/// MutationObserver catches each render, a 100 ms timer backs it up.
/// The test takes the records out with `RECORDS`.
const RECORDER: &str = r#"
    if (window.__asuRec) return true;
    const rec = [];
    window.__asuRec = rec;
    const bar = id => {
        const e = document.getElementById(id);
        return e ? [e.hasAttribute('value') ? e.value : null, e.max] : null;
    };
    const text = id => { const e = document.getElementById(id); return e ? e.textContent.trim() : null; };
    let last = '';
    const snap = () => {
        const s = {queue: bar('queue-progress'), position: text('queue-position'), phase_bar: bar('phase-progress'),
                   phase: text('build-phase'), download: bar('download-progress'), upload: bar('upload-progress'),
                   reboot: bar('reboot-progress'), reboot_wait: text('reboot-wait'), status: text('status')};
        const k = JSON.stringify(s);
        if (k !== last) { last = k; s.t = performance.now(); rec.push(s); }
    };
    new MutationObserver(snap).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
    setInterval(snap, 100);
    snap();
    return true;
"#;
const RECORDS: &str = "return window.__asuRec ? window.__asuRec.splice(0) : null;";

/// Posts a build and waits until the builder has it (202 "started").
async fn start_blocking_build(edge: &str, packages: &[&str]) -> String {
    let body = json!({"version": VERSION, "target": TARGET, "profile": "glinet,gl-mt6000", "packages": packages, "client": "browser-finder-test"});
    let a = post_json(&format!("{edge}/api/v1/build"), &body).await;
    assert_eq!(a.status, 202, "{}", String::from_utf8_lossy(&a.body));
    a.json()["request_hash"].as_str().unwrap().to_string()
}

async fn wait_started(edge: &str, hash: &str) {
    let deadline = Instant::now() + BUILD_TIMEOUT;
    loop {
        let a = get(&format!("{edge}/api/v1/build/{hash}")).await;
        assert_eq!(a.status, 202, "blocking build {hash} ended early: {}", String::from_utf8_lossy(&a.body));
        if a.json()["detail"] == "started" {
            return;
        }
        assert!(Instant::now() < deadline, "blocking build {hash} never started");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn router_page_progress_bars_follow_the_phases() {
    let _turn = serial();
    let s = stack();
    let edge = &s.edge.url;
    let router_dir = s.dir.join("router-progress");
    std::fs::create_dir_all(&router_dir).unwrap();
    let router = Router::start(BOARD_FILE, edge, &router_dir, &router_dir);
    let world: BTreeMap<String, String> = serde_json::from_value(board_file()["packages"]["world"].clone()).unwrap();

    let b = Browser::start(&s.dir, 1280, 900).await;
    let mut steps = Steps::new(&b, &s.dir, "router", false);
    b.goto(&format!("{}/", router.url)).await;
    b.type_into("input[name=luci_password]", "").await;
    b.click("form [type=submit]").await;
    let err = Some("#error");
    b.wait_for_text("#target-version", |t| t.contains(VERSION), err, Duration::from_secs(60)).await;

    // standin-slow makes our build's `make image` take 8 s, so its phase is seen.
    b.click("#advanced-toggle").await;
    b.wait_for_text("#package-index-state", |t| t.contains("packages in this release"), err, UI_TIMEOUT).await;
    b.type_into("#package-search", "standin-slow").await;
    b.click("#package-add").await;
    b.wait_for("#selected-packages li[data-package=\"standin-slow\"]", UI_TIMEOUT).await;
    steps.step("ready", "#upgrade-button").await;

    // Two slow builds ahead of ours: one building, one queued, so ours
    // enters the queue at position 1 and moves up.
    let first = start_blocking_build(edge, &["standin-slow", "luci"]).await;
    wait_started(edge, &first).await;
    start_blocking_build(edge, &["standin-slow", "wireguard-tools"]).await;

    assert_eq!(b.eval(RECORDER).await, json!(true));
    b.click("#upgrade-button").await;
    let mut samples: Vec<Sample> = Vec::new();
    let (mut shot_queue, mut shot_phase, mut shot_transfer) = (false, false, false);
    let deadline = Instant::now() + BUILD_TIMEOUT;
    let done = loop {
        match b.eval(RECORDS).await {
            Value::Null => assert_eq!(b.eval(RECORDER).await, json!(true)),
            v => samples.extend(serde_json::from_value::<Vec<Sample>>(v).unwrap()),
        }
        let last = samples.last().cloned();
        if let Some(l) = last {
            if !shot_queue && l.queue.is_some() {
                shot_queue = true;
                steps.step("queued", "#queue-progress").await;
            }
            if !shot_phase && l.phase.is_some() {
                shot_phase = true;
                steps.step("building", "#phase-progress").await;
            }
            if !shot_transfer && l.upload.is_some() {
                shot_transfer = true;
                steps.step("transfer", "#upload-progress").await;
            }
        }
        if let Some(t) = shown(&b, "#done").await {
            break t;
        }
        if let Some(e) = shown(&b, "#error").await {
            panic!("the upgrade failed on the page: {e}\nrecorded: {samples:#?}");
        }
        assert!(Instant::now() < deadline, "no #done after {BUILD_TIMEOUT:?}; recorded: {samples:#?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if let Value::Array(rest) = b.eval(RECORDS).await {
        samples.extend(rest.into_iter().map(|v| serde_json::from_value::<Sample>(v).unwrap()));
    }
    steps.step("done", "#done").await;
    assert!(done.contains(VERSION), "{done}");
    b.close().await;
    std::fs::write(s.dir.join("router-progress.json"), format!("{samples:#?}")).unwrap();

    // The image the router got, found from the request the page should have sent.
    let mut expected = BuildRequest::new(VERSION, TARGET, PROFILE);
    expected.packages = world.keys().cloned().chain(["fitblk".to_string(), "standin-slow".to_string()]).collect();
    expected.diff_packages = true;
    expected.filesystem = Some("squashfs".into());
    let build = get(&format!("{edge}/api/v1/build/{}", hash_of(&expected))).await;
    assert_eq!(build.status, 200, "no finished build for the request the router page should have sent");
    let build = build.json();
    let image = build["images"].as_array().unwrap().iter().find(|i| i["type"] == "sysupgrade").unwrap().clone();
    let file = get(&format!("{edge}/store/{}/{}", build["bin_dir"].as_str().unwrap().trim_matches('/'), image["name"].as_str().unwrap())).await;
    assert_eq!(sha256(&file.body), image["sha256"].as_str().unwrap());
    let size = file.body.len() as f64;
    let state: Value = serde_json::from_str(&std::fs::read_to_string(&router.state_file).unwrap()).unwrap();
    assert_eq!(state["flashed_image"]["sha256"], image["sha256"], "the router flashed another image");

    let report = format!("recorded (also in router-progress.json): {samples:#?}");
    let first_index = |f: &dyn Fn(&Sample) -> bool| samples.iter().position(f);
    let last_index = |f: &dyn Fn(&Sample) -> bool| samples.iter().rposition(f);

    // Queue: ours entered behind the queued build and moved up; the bar moved with it.
    let positions: Vec<u32> = samples.iter().filter_map(|s| s.position.as_deref()?.parse().ok()).collect();
    assert!(positions.first().is_some_and(|p| *p >= 1), "ours did not wait behind the queued build: {positions:?}\n{report}");
    assert!(positions.contains(&0), "the position never reached 0: {positions:?}\n{report}");
    assert!(positions.windows(2).all(|w| w[1] <= w[0]), "the queue position went back: {positions:?}");
    let queue_values: Vec<f64> = samples.iter().filter_map(|s| s.queue.and_then(|q| q.0)).collect();
    assert!(
        queue_values.windows(2).any(|w| w[1] > w[0]),
        "the queue bar did not move: {queue_values:?}\n{report}"
    );

    // Build phase: shown after the queue, with a step on its bar.
    let last_queue = last_index(&|s| s.queue.is_some()).unwrap();
    let first_phase = first_index(&|s| s.phase.is_some()).unwrap_or_else(|| panic!("no build phase shown\n{report}"));
    assert!(first_phase > last_queue, "the phase row came before the queue row left\n{report}");
    let phases: BTreeSet<&str> = samples.iter().filter_map(|s| s.phase.as_deref()).collect();
    assert!(phases.iter().all(|p| !p.is_empty()), "{phases:?}");
    assert!(
        samples.iter().filter_map(|s| s.phase_bar).any(|(v, max)| v.is_some_and(|v| v >= 1.0 && v <= max)),
        "the phase bar never showed a step\n{report}"
    );

    // Download: below its maximum, then at it (the image's size), after the build.
    let first_download = first_index(&|s| s.download.is_some()).unwrap_or_else(|| panic!("no download bar\n{report}"));
    assert!(first_download > first_phase, "the download bar came before the build phase\n{report}");
    let full = |bar: Option<(Option<f64>, f64)>| bar.is_some_and(|(v, max)| v == Some(max) && max == size);
    let below = |bar: Option<(Option<f64>, f64)>| bar.is_some_and(|(v, max)| v.is_none_or(|v| v < max) || max != size);
    let download_full = first_index(&|s| full(s.download)).unwrap_or_else(|| panic!("the download bar never reached {size} bytes\n{report}"));
    assert!(
        samples[..download_full].iter().any(|s| below(s.download)),
        "the download bar never showed less than full\n{report}"
    );
    // Upload: moves only once the download is complete, and ends full.
    let upload_moves = first_index(&|s| s.upload.is_some_and(|(v, _)| v.is_some_and(|v| v > 0.0)))
        .unwrap_or_else(|| panic!("the upload bar never moved\n{report}"));
    assert!(upload_moves > download_full, "the upload moved before the download was complete\n{report}");
    assert!(samples.iter().any(|s| full(s.upload)), "the upload bar never reached {size} bytes\n{report}");
    // The reboot wait comes after the upload and counts the seconds.
    let upload_full = first_index(&|s| full(s.upload)).unwrap();
    let first_reboot = first_index(&|s| s.reboot.is_some()).unwrap_or_else(|| panic!("no reboot wait shown\n{report}"));
    assert!(first_reboot > upload_full, "the reboot wait came before the upload finished\n{report}");
    let mut waits: Vec<&str> = samples.iter().filter_map(|s| s.reboot_wait.as_deref()).collect();
    waits.dedup();
    assert!(waits.len() >= 2, "the reboot countdown did not move: {waits:?}");
    let statuses: Vec<&str> = samples.iter().filter_map(|s| s.status.as_deref()).collect();
    let mut distinct = statuses.clone();
    distinct.dedup();
    assert!(distinct.len() >= 4, "the status line hardly changed: {distinct:?}");
    let span = samples.last().unwrap().t - samples.first().unwrap().t;
    eprintln!("router progress: {} samples over {:.1} s; queue {positions:?}; phases {phases:?}", samples.len(), span / 1000.0);
}
