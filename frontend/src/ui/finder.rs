//! The router-free page (the app at the server's root): find a device,
//! pick a release, see its images and packages, customise and build, and
//! preview an upgrade. Release, device and package edits live in the URL.
//!
//! The page is made of `live` parts (see `ui::live`); inputs sit outside
//! the parts that re-render, so typing never re-creates them.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::build::{build_status, image_list, BuildPart, BuildView};
use super::data::{load_devices, load_index_with_details, load_overview, load_profile};
use super::packages::{IndexState, PackageEditor};
use super::{live, parse_size};
use crate::devices::{board_name, Device, DeviceIndex};
use crate::link::LinkState;
use crate::packages::Selection;
use crate::plan::{custom_build_request, is_snapshot, release_image_url, DeviceRelease, OverviewView, ServerView};
use crate::web::page;

/// Results shown per keystroke; the count says how many more match.
const SHOWN: usize = 25;

#[derive(Clone, Debug, PartialEq)]
pub enum Load<T> {
    Idle,
    Loading,
    Ready(T),
    Failed(String),
}

/// What the parts of the page share. All fields are cheap handles.
#[derive(Clone, Copy)]
pub struct Finder {
    pub server: StoredValue<String>,
    pub overview: RwSignal<Option<Result<Arc<OverviewView>, String>>>,
    pub devices: RwSignal<DeviceIndex>,
    pub link: RwSignal<LinkState>,
    /// Device lists still loading, and the errors of those that failed.
    pending: RwSignal<usize>,
    list_errors: RwSignal<Vec<String>>,
    query: RwSignal<String>,
}

impl Finder {
    pub fn overview_untracked(&self) -> Option<Arc<OverviewView>> {
        self.overview.with_untracked(|o| o.as_ref().and_then(|r| r.as_ref().ok()).cloned())
    }

    fn overview(&self) -> Option<Arc<OverviewView>> {
        self.overview.with(|o| o.as_ref().and_then(|r| r.as_ref().ok()).cloned())
    }

    fn server_view(&self) -> Option<ServerView> {
        self.overview().and_then(|o| o.server.clone())
    }

    /// Shows a device in a release with package edits, and moves there.
    pub fn open(&self, state: LinkState) {
        self.link.set(state);
        page::focus_later("device-title");
    }

    /// The release to preselect for a device found in `found_in`: the
    /// current one if it has the device, else the newest stable one.
    fn version_for(&self, found_in: &[String]) -> String {
        let Some(o) = self.overview_untracked() else { return found_in.first().cloned().unwrap_or_default() };
        let offered = o.versions_for_device(found_in);
        let current = self.link.with_untracked(|l| l.version.clone());
        if offered.contains(&current) {
            return current;
        }
        o.default_version()
            .filter(|v| offered.contains(v))
            .or_else(|| offered.iter().find(|v| !is_snapshot(v) && !v.contains("-rc")).cloned())
            .or_else(|| offered.first().cloned())
            .unwrap_or_default()
    }
}

#[component]
pub fn FinderPage(server_url: String) -> impl IntoView {
    let f = Finder {
        server: StoredValue::new(server_url),
        overview: RwSignal::new(None),
        devices: RwSignal::new(DeviceIndex::default()),
        link: RwSignal::new(LinkState::parse(&page::location_search())),
        pending: RwSignal::new(0),
        list_errors: RwSignal::new(Vec::new()),
        query: RwSignal::new(String::new()),
    };
    spawn_local(load_everything(f));
    // Every state change lands in the address bar, so the page is a link.
    Effect::new(move |_| page::replace_query(&f.link.with(LinkState::to_query)));
    let panel = Panel::new(f);

    view! {
        <section class="asu asu-finder">
            <h1>"OpenWrt firmware"</h1>
            <p>
                "Find your device, pick a release, download its images or build one with your own packages. "
                "Inside a router's web interface the same app upgrades the router in place."
            </p>
            {live(f, overview_status)}
            <div class="asu-search" role="search">
                <label for="device-search">"Find your device"</label>
                <input
                    id="device-search"
                    type="search"
                    autocomplete="off"
                    spellcheck="false"
                    placeholder="Vendor, model, board name…"
                    aria-controls="device-results"
                    aria-describedby="device-count"
                    on:input=move |ev| f.query.set(event_target_value(&ev))
                    on:keydown=move |ev| {
                        if ev.key() == "ArrowDown" {
                            ev.prevent_default();
                            page::focus_first("#device-results button");
                        }
                    }
                />
                {live(f, results)}
            </div>
            {live(panel, device_panel)}
            {super::preview::upgrade_section(f)}
            {live(f, server_info)}
        </section>
    }
}

fn overview_status(f: Finder) -> AnyView {
    f.overview.with(|o| match o {
        None => view! { <p id="status" class="asu-status">"Loading the releases…"</p> }.into_any(),
        Some(Err(e)) => super::error_box("overview-error", e.clone(), None, None).into_any(),
        Some(Ok(_)) => ().into_any(),
    })
}

fn server_info(f: Finder) -> AnyView {
    let Some(s) = f.server_view() else { return ().into_any() };
    let version = if s.version.is_empty() { "(version unknown)".to_string() } else { s.version.clone() };
    let contact = if s.contact.is_empty() { String::new() } else { format!(" · contact: {}", s.contact) };
    view! { <p class="asu-muted" id="server-info">{format!("Build server {version}{contact}")}</p> }.into_any()
}

/// The overview, then the device list of the newest release of each branch
/// (and of the linked release), in parallel; search works with the first.
async fn load_everything(f: Finder) {
    let server = f.server.get_value();
    let result = load_overview(&server).await.map(Arc::new);
    let Ok(o) = result.clone() else {
        f.overview.set(Some(result));
        return;
    };
    let mut versions = o.newest_per_branch();
    let linked = f.link.with_untracked(|l| l.version.clone());
    if !linked.is_empty() && !versions.contains(&linked) && o.branch_of(&linked).is_some() {
        versions.push(linked);
    }
    f.overview.set(Some(result));
    // A link with a device but no (known) release gets the newest stable one.
    if f.link.with_untracked(|l| !l.id.is_empty() && o.branch_of(&l.version).is_none()) {
        let v = o.default_version().unwrap_or_default();
        f.link.update(|l| l.version = v);
    }
    f.pending.set(versions.len());
    for version in versions {
        let (server, o) = (server.clone(), o.clone());
        spawn_local(async move {
            match load_devices(&server, &o.upstream_url, &o.release_path(&version)).await {
                Ok(list) => {
                    let first = f.devices.with_untracked(DeviceIndex::is_empty);
                    f.devices.update(|d| d.add_release(&version, &list));
                    if first {
                        page::mark("asu-devices-ready");
                    }
                }
                Err(e) => f.list_errors.update(|l| l.push(e)),
            }
            f.pending.update(|p| *p = p.saturating_sub(1));
        });
    }
}

fn count_text(f: Finder, n: usize, q: &str, shown: usize, total: usize) -> String {
    if n == 0 {
        return if f.pending.get() > 0 || f.overview.with(Option::is_none) {
            "Loading the device lists…".into()
        } else {
            "No device list is available from this server.".into()
        };
    }
    match (q.is_empty(), total) {
        (true, _) => format!("Type to search {n} devices."),
        (false, 0) => format!("No device matches “{q}”."),
        (false, 1) => format!("1 device matches “{q}”."),
        (false, t) if t > shown => format!("{t} devices match “{q}”; the first {shown} are shown."),
        (false, t) => format!("{t} devices match “{q}”."),
    }
}

/// The count and the matching devices, for the text in the search field.
/// `data-query` on the list names the text it shows (the benchmark waits for it).
fn results(f: Finder) -> AnyView {
    let q = f.query.get();
    let (items, total, n) = f.devices.with(|d| {
        let (items, total) = d.search(&q, SHOWN);
        (items.into_iter().cloned().collect::<Vec<Device>>(), total, d.len())
    });
    let count = count_text(f, n, q.trim(), items.len(), total);
    let errors = f.list_errors.with(|e| e.join(" "));
    view! {
        <p id="device-count" class="asu-muted" aria-live="polite">{count}</p>
        {(!errors.is_empty()).then(|| view! { <p id="device-list-errors" class="asu-note">{errors}</p> })}
        <ul id="device-results" class="asu-list" data-query=q on:keydown=walk>
            {items.into_iter().map(|d| {
                let (label, where_) = (d.titles.join(" / "), format!("{} · {}", d.target, d.board));
                let (id, target) = (d.id.clone(), d.target.clone());
                view! {
                    <li>
                        <button type="button" class="asu-item" data-id=id data-target=target on:click=move |_| select(f, &d)>
                            <span>{label}</span>
                            <span class="asu-muted">{where_}</span>
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

fn select(f: Finder, d: &Device) {
    let version = f.version_for(&d.versions);
    f.open(LinkState { version, target: d.target.clone(), id: d.id.clone(), packages: String::new() });
}

/// Arrow keys walk the result buttons; up from the first goes back to the field.
fn walk(ev: leptos::ev::KeyboardEvent) {
    let key = ev.key();
    let down = match key.as_str() {
        "ArrowDown" => true,
        "ArrowUp" => false,
        _ => return,
    };
    ev.prevent_default();
    let item = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.active_element())
        .and_then(|a| a.parent_element());
    let next = item.and_then(|li| if down { li.next_element_sibling() } else { li.previous_element_sibling() });
    match next.and_then(|li| li.first_element_child()).and_then(|b| b.dyn_into::<web_sys::HtmlElement>().ok()) {
        Some(b) => {
            let _ = b.focus();
        }
        None if !down => page::focus_first("#device-search"),
        None => {}
    }
}

type Key = (String, String, String);

/// The device panel's state.
#[derive(Clone, Copy)]
struct Panel {
    f: Finder,
    /// (version, target, profile id) from the link.
    key: Memo<Key>,
    device: RwSignal<Load<DeviceRelease>>,
    index: RwSignal<IndexState>,
    build: BuildPart,
    generation: StoredValue<u32>,
    script: RwSignal<String>,
    rootfs: RwSignal<String>,
    selection: Memo<Selection>,
    defaults: Memo<Vec<String>>,
    has_device: Memo<bool>,
    ready: Memo<bool>,
}

impl Panel {
    fn new(f: Finder) -> Panel {
        let key = Memo::new(move |_| f.link.with(|l| (l.version.clone(), l.target.clone(), l.id.clone())));
        let device = RwSignal::new(Load::Idle);
        let state = RwSignal::new(BuildView::Idle);
        let retry = StoredValue::new(None::<Callback<()>>);
        let p = Panel {
            f,
            key,
            device,
            index: RwSignal::new(IndexState::Idle),
            build: BuildPart::new(f.server, state, Callback::new(move |_| {
                if let Some(r) = retry.get_value() {
                    r.run(())
                }
            })),
            generation: StoredValue::new(0),
            script: RwSignal::new(String::new()),
            rootfs: RwSignal::new(String::new()),
            selection: Memo::new(move |_| f.link.with(|l| Selection::parse(&l.packages))),
            defaults: Memo::new(move |_| device.with(|d| if let Load::Ready(d) = d { d.defaults() } else { Vec::new() })),
            has_device: Memo::new(move |_| key.with(|(_, t, i)| !t.is_empty() && !i.is_empty())),
            ready: Memo::new(move |_| device.with(|d| matches!(d, Load::Ready(_)))),
        };
        retry.set_value(Some(Callback::new(move |_| p.start_build())));
        // The device's description and the release's packages follow the
        // device and release (and wait for the overview).
        Effect::new(move |_| {
            let k = key.get();
            if let Some(o) = f.overview() {
                p.load(o, k);
            }
        });
        p
    }

    fn load(self, o: Arc<OverviewView>, (version, target, id): Key) {
        if version.is_empty() || target.is_empty() || id.is_empty() {
            self.device.set(Load::Idle);
            return;
        }
        self.device.set(Load::Loading);
        self.index.set(IndexState::Loading);
        self.reset_build();
        let server = self.f.server.get_value();
        spawn_local(async move {
            let path = o.release_path(&version);
            let loaded = match load_profile(&server, &path, &target, &id).await {
                Ok(json) => DeviceRelease::from_profile_json(&version, &json, &id),
                Err((404, _)) => Err(format!("This device is not part of OpenWrt {version}: pick another release.")),
                Err((_, e)) => Err(e),
            };
            let current = || self.key.with_untracked(|k| k.0 == version && k.1 == target && k.2 == id);
            if !current() {
                return;
            }
            let arch = loaded.as_ref().ok().and_then(|d| d.arch.clone()).or_else(|| o.arch(&version, &target));
            let ok = loaded.is_ok();
            self.device.set(match loaded {
                Ok(d) => Load::Ready(d),
                Err(e) => Load::Failed(e),
            });
            if !ok {
                self.index.set(IndexState::Idle);
                return;
            }
            let loaded = load_index_with_details(&server, &path, &target, arch.as_deref()).await;
            if current() {
                self.index.set(match loaded {
                    Ok(i) => IndexState::Ready(i),
                    Err(e) => IndexState::Failed(e),
                });
            }
        });
    }

    /// A finished or failed build no longer matches edited inputs.
    fn reset_build(self) {
        if !self.build.state.with_untracked(BuildView::running) {
            self.build.state.set(BuildView::Idle);
        }
    }

    fn limits(self) -> (bool, usize, u32) {
        self.f.server_view().map(|s| (s.allow_defaults, s.max_defaults_length, s.max_custom_rootfs_size_mb)).unwrap_or((false, 0, 0))
    }

    fn script_error(self) -> Option<String> {
        let (_, max, _) = self.limits();
        let len = self.script.with(String::len);
        (max > 0 && len > max).then(|| format!("The script is {len} bytes; this server takes at most {max}."))
    }

    fn start_build(self) {
        if self.build.state.with_untracked(BuildView::running) {
            return;
        }
        let (version, target, _) = self.key.get_untracked();
        let Some(id) = self.device.with_untracked(|d| if let Load::Ready(d) = d { Some(d.id.clone()) } else { None }) else {
            return;
        };
        let (allow_script, _, max_rootfs) = untrack(|| self.limits());
        let rootfs = match parse_size(&self.rootfs.get_untracked(), max_rootfs) {
            Ok(r) => r,
            Err(e) => return self.build.state.set(BuildView::Failed { message: e, log: None }),
        };
        if let Some(e) = untrack(|| self.script_error()) {
            return self.build.state.set(BuildView::Failed { message: e, log: None });
        }
        let request = custom_build_request(
            &version,
            &target,
            &id,
            self.selection.get_untracked().request_packages(),
            allow_script.then(|| self.script.get_untracked()),
            rootfs,
        );
        super::build::start(self.f.server.get_value(), request, self.build.state, self.generation);
    }
}

fn device_panel(p: Panel) -> AnyView {
    if !p.has_device.get() {
        return ().into_any();
    }
    let f = p.f;
    view! {
        <section id="device-panel" class="asu-panel" aria-labelledby="device-title">
            {live(p, title)}
            <div class="asu-field">
                <label for="release-select">"Release"</label>
                <select id="release-select" on:change=move |ev| {
                    let v = event_target_value(&ev);
                    f.link.update(|l| l.version = v);
                }>
                    {live(p, release_options)}
                </select>
            </div>
            {live(p, device_state)}
            {live(p, customise)}
        </section>
    }
    .into_any()
}

fn title(p: Panel) -> AnyView {
    let (_, target, id) = p.key.get();
    let title = p
        .device
        .with(|d| if let Load::Ready(d) = d { Some(d.title.clone()) } else { None })
        .or_else(|| p.f.devices.with(|x| x.find(&target, &id).map(|d| d.title().to_string())))
        .unwrap_or(id);
    let href = p.f.link.with(|l| format!("./{}", l.to_query()));
    view! {
        <h2 id="device-title" tabindex="-1">{title}</h2>
        <a id="share-link" class="asu-muted" href=href>"Link to this device, release and package selection"</a>
    }
    .into_any()
}

fn release_options(p: Panel) -> AnyView {
    let (current, target, id) = p.key.get();
    let found_in = p.f.devices.with(|x| x.find(&target, &id).map(|d| d.versions.clone()).unwrap_or_default());
    let mut list = p.f.overview().map(|o| o.versions_for_device(&found_in)).unwrap_or_default();
    if !current.is_empty() && !list.contains(&current) {
        list.insert(0, current.clone());
    }
    list.into_iter()
        .map(|v| {
            let selected = v == current;
            view! { <option value=v.clone() selected=selected>{v.clone()}</option> }
        })
        .collect_view()
        .into_any()
}

fn device_state(p: Panel) -> AnyView {
    match p.device.get() {
        Load::Idle => ().into_any(),
        Load::Loading => view! { <p id="device-status" class="asu-status">"Loading the device description…"</p> }.into_any(),
        Load::Failed(e) => super::error_box("device-error", e, None, None).into_any(),
        Load::Ready(d) => device_facts(p.f, &p.key.get_untracked().1, d).into_any(),
    }
}

/// Target, profile, revision, kernel, the release's images and packages.
fn device_facts(f: Finder, target: &str, d: DeviceRelease) -> impl IntoView {
    let o = f.overview_untracked();
    let path = o.as_ref().map(|o| o.release_path(&d.version)).unwrap_or_else(|| format!("releases/{}", d.version));
    let upstream = o.as_ref().map(|o| o.upstream_url.clone()).unwrap_or_default();
    let images: Vec<_> =
        d.images.iter().map(|i| (i.clone(), release_image_url(&upstream, &path, target, &i.name))).collect();
    let mut facts = vec![("Target", target.to_string()), ("Profile", d.id.clone()), ("Board name", board_name(&d.id))];
    if !d.version_code.is_empty() {
        facts.push(("Revision", d.version_code.clone()));
    }
    view! {
        <dl class="asu-versions" id="device-facts">
            {facts.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
            {d.kernel.clone().map(|k| view! { <dt>"Kernel"</dt><dd id="kernel-version">{format!("Linux {k}")}</dd> })}
        </dl>
        <h3>{format!("Images of OpenWrt {}", d.version)}</h3>
        {image_list("image-list", images, None)}
        <details>
            <summary>{format!("Default packages of the release ({})", d.default_packages.len())}</summary>
            <p id="default-packages" class="asu-words">{d.default_packages.join(" ")}</p>
        </details>
        <details>
            <summary>{format!("Packages of this device ({})", d.device_packages.len())}</summary>
            <p id="device-packages" class="asu-words">{d.device_packages.join(" ")}</p>
        </details>
    }
}

/// The package editor, first-boot script, root filesystem size and build.
fn customise(p: Panel) -> AnyView {
    if !p.ready.get() {
        return ().into_any();
    }
    let (allow_script, max_script, max_rootfs) = untrack(|| p.limits());
    let on_change = Callback::new(move |s: Selection| {
        p.f.link.update(|l| l.packages = s.to_param());
        p.reset_build();
    });
    view! {
        <h3>"Customise"</h3>
        <PackageEditor base=p.defaults selection=p.selection on_change index=p.index base_word="default" />
        {allow_script.then(|| view! {
            <div class="asu-field">
                <label for="defaults-script">"Script to run on first boot (uci-defaults)"</label>
                <textarea id="defaults-script" rows="5" spellcheck="false" aria-describedby="defaults-limit"
                    prop:value=p.script.get_untracked()
                    on:input=move |ev| {
                        p.script.set(event_target_value(&ev));
                        p.reset_build();
                    }></textarea>
                {live((p, max_script), script_limit)}
            </div>
        })}
        <div class="asu-field">
            <label for="rootfs-size">"Root filesystem size in MB (empty: the release's default)"</label>
            <input id="rootfs-size" type="number" inputmode="numeric" min="1"
                max=(max_rootfs > 0).then(|| max_rootfs.to_string())
                prop:value=p.rootfs.get_untracked()
                on:input=move |ev| {
                    p.rootfs.set(event_target_value(&ev));
                    p.reset_build();
                } />
        </div>
        <div class="asu-actions">
            <button id="build-button" type="button" class="asu-primary" on:click=move |_| p.start_build()>
                "Build this image"
            </button>
        </div>
        {live(p.build, build_status)}
    }
    .into_any()
}

fn script_limit((p, max): (Panel, usize)) -> AnyView {
    let len = p.script.with(String::len);
    view! {
        <p id="defaults-limit" class="asu-muted">{format!("{len} of at most {max} bytes")}</p>
        {p.script_error().map(|e| view! { <p class="asu-error-text">{e}</p> })}
    }
    .into_any()
}
