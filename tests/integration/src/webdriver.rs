//! A minimal W3C WebDriver client for chromedriver driving Debian's
//! headless Chromium: enough to open pages, click, type and read.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::procs::{free_port, Proc};

pub struct Browser {
    base: String,
    session: String,
    _driver: Proc,
}

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile.
    pub async fn start(logs: &Path, width: u32, height: u32) -> Browser {
        let port = free_port();
        let driver_bin = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let mut cmd = Command::new(driver_bin);
        cmd.arg(format!("--port={port}"));
        let mut driver = Proc::spawn(&format!("chromedriver-{port}"), cmd, logs);
        driver.wait_for_line("started successfully", Duration::from_secs(30));
        let base = format!("http://127.0.0.1:{port}");
        let profile = logs.join(format!("chromium-profile-{port}"));
        std::fs::create_dir_all(&profile).unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--disable-dev-shm-usage",
                         format!("--user-data-dir={}", profile.display()),
                         format!("--window-size={width},{height}")]
            }
        }}});
        let v = call("POST", &format!("{base}/session"), Some(caps)).await;
        let session = v["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {v}")).to_string();
        Browser { base, session, _driver: driver }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{}", self.base, self.session, path)
    }

    pub async fn goto(&self, url: &str) {
        call("POST", &self.url("/url"), Some(json!({"url": url}))).await;
    }

    /// Runs a script in the page and returns its value.
    pub async fn eval(&self, script: &str) -> Value {
        call("POST", &self.url("/execute/sync"), Some(json!({"script": script, "args": []}))).await
    }

    async fn find(&self, css: &str) -> Option<String> {
        let v = try_call("POST", &self.url("/element"), Some(json!({"using": "css selector", "value": css}))).await.ok()?;
        v[ELEMENT_KEY].as_str().map(String::from)
    }

    /// Waits until an element matching `css` exists and returns its id.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(id) = self.find(css).await {
                return id;
            }
            if Instant::now() > deadline {
                panic!("no element {css} after {timeout:?}; page text:\n{}", self.page_text().await);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn click(&self, css: &str) {
        let id = self.wait_for(css, Duration::from_secs(30)).await;
        call("POST", &self.url(&format!("/element/{id}/click")), Some(json!({}))).await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let id = self.wait_for(css, Duration::from_secs(30)).await;
        call("POST", &self.url(&format!("/element/{id}/value")), Some(json!({"text": text}))).await;
    }

    pub async fn text(&self, css: &str) -> Option<String> {
        let id = self.find(css).await?;
        let v = try_call("GET", &self.url(&format!("/element/{id}/text")), None).await.ok()?;
        v.as_str().map(String::from)
    }

    pub async fn page_text(&self) -> String {
        self.eval("return document.body ? document.body.innerText : ''").await.as_str().unwrap_or_default().to_string()
    }

    /// Waits until the text of `css` satisfies `pred`; fails at once if
    /// an element matching `fail_on` shows text (the app's error box).
    pub async fn wait_for_text(&self, css: &str, pred: impl Fn(&str) -> bool, fail_on: Option<&str>, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(t) = self.text(css).await.filter(|t| pred(t)) {
                return t;
            }
            if let Some(err) = fail_on {
                if let Some(t) = self.text(err).await.filter(|t| !t.trim().is_empty()) {
                    panic!("the page shows an error while waiting for {css}: {t}\npage text:\n{}", self.page_text().await);
                }
            }
            if Instant::now() > deadline {
                panic!("{css}: expected text not there after {timeout:?}; page text:\n{}", self.page_text().await);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn screenshot(&self, path: &Path) {
        let v = call("GET", &self.url("/screenshot"), None).await;
        let b64 = v.as_str().unwrap_or_default();
        std::fs::write(path, base64_decode(b64)).unwrap();
    }

    pub async fn close(self) {
        let _ = try_call("DELETE", &self.url(""), None).await;
    }

    /// Emulates a screen of `width` x `height` CSS pixels (Chromium keeps
    /// its windows at least 500 px wide, so `start` cannot make a phone);
    /// `mobile` also honours the page's meta viewport, as a phone does. Lasts for the session, across page loads.
    pub async fn set_viewport(&self, width: u32, height: u32, mobile: bool) {
        let params = json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile});
        call("POST", &self.url("/goog/cdp/execute"), Some(json!({"cmd": "Emulation.setDeviceMetricsOverride", "params": params}))).await;
    }

    /// Runs a script with `arguments[0..]` set to `args`; returns its value.
    pub async fn eval_with(&self, script: &str, args: Vec<Value>) -> Value {
        call("POST", &self.url("/execute/sync"), Some(json!({"script": script, "args": args}))).await
    }

    /// Puts `text` into an input or textarea at once and fires `input`, as
    /// a paste does (typing a long text key by key is slow and adds nothing).
    pub async fn paste_into(&self, css: &str, text: &str) {
        self.wait_for(css, Duration::from_secs(30)).await;
        let done = self
            .eval_with(
                "const e = document.querySelector(arguments[0]); if (!e) return false; e.focus(); \
                 e.value = arguments[1]; e.dispatchEvent(new Event('input', {bubbles: true})); return true;",
                vec![json!(css), json!(text)],
            )
            .await;
        assert_eq!(done, json!(true), "no element {css} to paste into");
    }

    /// Waits until `script` (a function body) returns something other than
    /// null, false, 0 or ""; gives that value.
    pub async fn wait_until(&self, what: &str, script: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.eval(script).await;
            let truthy = match &v {
                Value::Null | Value::Bool(false) => false,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if Instant::now() > deadline {
                panic!("{what}: not the case after {timeout:?} (last value {v}); page text:\n{}", self.page_text().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Texts of every element matching `css` (textContent, so also inside
    /// closed `<details>`), trimmed.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let v = self
            .eval_with(
                "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent.trim());",
                vec![json!(css)],
            )
            .await;
        serde_json::from_value(v).unwrap_or_default()
    }

    /// One attribute of every element matching `css` (missing ones left out).
    pub async fn attrs(&self, css: &str, attr: &str) -> Vec<String> {
        let v = self
            .eval_with(
                "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.getAttribute(arguments[1])).filter(a => a !== null);",
                vec![json!(css), json!(attr)],
            )
            .await;
        serde_json::from_value(v).unwrap_or_default()
    }
}

async fn try_call(method: &str, url: &str, body: Option<Value>) -> Result<Value, Value> {
    let client = crate::http::client();
    let mut req = client.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.map_err(|e| json!(e.to_string()))?;
    let ok = resp.status().is_success();
    let v: Value = resp.json().await.map_err(|e| json!(e.to_string()))?;
    if ok {
        Ok(v["value"].clone())
    } else {
        Err(v)
    }
}

async fn call(method: &str, url: &str, body: Option<Value>) -> Value {
    try_call(method, url, body).await.unwrap_or_else(|e| panic!("webdriver {method} {url}: {e}"))
}

fn base64_decode(s: &str) -> Vec<u8> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let Some(v) = T.iter().position(|&t| t == c) else { continue };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
