//! The package editor, shared by both pages: search the release's index,
//! add by name, remove (a removed default becomes `-name`), restore.

use std::sync::Arc;

use leptos::html::Input;
use leptos::prelude::*;

use super::live;
use crate::packages::{human_size, PackageIndex, Selection};

/// The release's package index as the editor sees it.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum IndexState {
    #[default]
    Idle,
    Loading,
    Ready(Arc<PackageIndex>),
    Failed(String),
}

impl IndexState {
    pub fn ready(&self) -> Option<&PackageIndex> {
        match self {
            IndexState::Ready(i) => Some(i),
            _ => None,
        }
    }
}

#[derive(Clone, Copy)]
struct Editor {
    base: Signal<Vec<String>>,
    selection: Signal<Selection>,
    on_change: Callback<Selection>,
    index: Signal<IndexState>,
    query: RwSignal<String>,
    message: RwSignal<Option<String>>,
    input: NodeRef<Input>,
    base_word: &'static str,
}

impl Editor {
    fn add(self, name: &str) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        if let Err(e) = asu_protocol::validate::package_name("package", name) {
            self.message.set(Some(e.message));
            return;
        }
        if self.index.with_untracked(|i| i.ready().map(|ix| !ix.contains(name))) == Some(true) {
            self.message.set(Some(format!("This release has no package named {name}.")));
            return;
        }
        let mut s = self.selection.get_untracked();
        s.add(name, &self.base.get_untracked());
        self.on_change.run(s);
        self.query.set(String::new());
        if let Some(i) = self.input.get_untracked() {
            i.set_value("");
        }
        self.message.set(Some(format!("Added {name}.")));
    }

    fn remove(self, name: &str) {
        let mut s = self.selection.get_untracked();
        s.remove(name, &self.base.get_untracked());
        self.on_change.run(s);
        self.message.set(Some(format!("Removed {name}.")));
    }
}

/// `base`: the packages without edits (the device's defaults, or the
/// router's packages); `selection`: the edits; `on_change` gets new edits.
#[component]
pub fn PackageEditor(
    #[prop(into)] base: Signal<Vec<String>>,
    #[prop(into)] selection: Signal<Selection>,
    on_change: Callback<Selection>,
    #[prop(into)] index: Signal<IndexState>,
    /// What the unedited packages are, for the list's tags ("default", "installed").
    base_word: &'static str,
) -> impl IntoView {
    let e = Editor {
        base,
        selection,
        on_change,
        index,
        query: RwSignal::new(String::new()),
        message: RwSignal::new(None),
        input: NodeRef::new(),
        base_word,
    };
    view! {
        <div class="asu-packages">
            <form class="asu-add" on:submit=move |ev| {
                ev.prevent_default();
                e.add(&e.query.get_untracked());
            }>
                <label for="package-search">"Add a package"</label>
                <div class="asu-row">
                    <input
                        id="package-search"
                        type="search"
                        autocomplete="off"
                        spellcheck="false"
                        placeholder="Package name, e.g. tcpdump"
                        aria-describedby="package-message"
                        node_ref=e.input
                        on:input=move |ev| e.query.set(event_target_value(&ev))
                    />
                    <button id="package-add" type="submit">"Add"</button>
                </div>
            </form>
            {live(e, notes)}
            {live(e, suggestions)}
            {live(e, chosen)}
        </div>
    }
}

fn notes(e: Editor) -> AnyView {
    let index = e.index.with(|i| match i {
        IndexState::Idle => String::new(),
        IndexState::Loading => "Loading the release's package list…".to_string(),
        IndexState::Ready(ix) if ix.has_details() => format!("{} packages in this release.", ix.len()),
        IndexState::Ready(ix) => format!("{} packages in this release (the index has names and versions only).", ix.len()),
        IndexState::Failed(err) => format!("{err} Package names cannot be checked before the build."),
    });
    view! {
        <p class="asu-muted" id="package-index-state">{index}</p>
        <p id="package-message" class="asu-note" aria-live="polite">{e.message.get()}</p>
    }
    .into_any()
}

fn suggestions(e: Editor) -> AnyView {
    let q = e.query.get();
    // (name, "version · size", description)
    let found: Vec<(String, String, String)> = e.index.with(|i| {
        i.ready()
            .map(|ix| {
                ix.search(&q, 8)
                    .0
                    .into_iter()
                    .map(|(n, v)| {
                        let d = ix.detail(n);
                        let meta = match d.and_then(|d| d.size) {
                            Some(size) => format!("{v} · {}", human_size(size)),
                            None => v.to_string(),
                        };
                        (n.to_string(), meta, d.map(|d| d.description.clone()).unwrap_or_default())
                    })
                    .collect()
            })
            .unwrap_or_default()
    });
    view! {
        <ul id="package-suggestions" class="asu-list">
            {found.into_iter().map(|(name, meta, description)| {
                let n = name.clone();
                view! {
                    <li>
                        <button type="button" class="asu-item" on:click=move |_| e.add(&n)>
                            <span>{name}</span>
                            <span class="asu-muted">{meta}</span>
                            {(!description.is_empty()).then(|| view! {
                                <span class="asu-muted asu-desc" style="flex-basis: 100%">{description}</span>
                            })}
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

/// The resulting package set, and the removed base packages.
fn chosen(e: Editor) -> AnyView {
    let (effective, added, removed) =
        e.selection.with(|s| e.base.with(|b| (s.effective(b), s.added.clone(), s.removed.clone())));
    let item = move |name: String, shown: String, tag: &'static str, action: &'static str| {
        let n = name.clone();
        view! {
            <li data-package=name.clone()>
                <span class="asu-pkg">{shown}</span>
                <span class="asu-tag">{tag}</span>
                <button type="button" aria-label=format!("{action} {name}")
                    on:click=move |_| if action == "Remove" { e.remove(&n) } else { e.add(&n) }>
                    {action}
                </button>
            </li>
        }
    };
    view! {
        <h4>{format!("Packages in the image ({})", effective.len())}</h4>
        <ul id="selected-packages" class="asu-pkgs">
            {effective.into_iter().map(|name| {
                let tag = if added.contains(&name) { "added" } else { e.base_word };
                item(name.clone(), name, tag, "Remove")
            }).collect_view()}
        </ul>
        {(!removed.is_empty()).then(|| view! {
            <h4>{format!("Removed from the {} packages ({})", e.base_word, removed.len())}</h4>
            <ul id="removed-packages" class="asu-pkgs">
                {removed.into_iter().map(|name| item(name.clone(), format!("-{name}"), "removed", "Restore")).collect_view()}
            </ul>
        })}
    }
    .into_any()
}
