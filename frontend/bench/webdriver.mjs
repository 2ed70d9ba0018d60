// A minimal W3C WebDriver client for chromedriver (Node 18+ fetch), enough
// for the benchmark: sessions, navigation, scripts, window size.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Driver {
  constructor(port) {
    this.base = `http://127.0.0.1:${port}`;
  }

  /** Starts chromedriver on `port` and waits until it answers. */
  static async start(port, binary = "/usr/bin/chromedriver") {
    const proc = spawn(binary, [`--port=${port}`, "--allowed-ips=127.0.0.1"], { stdio: "ignore" });
    const d = new Driver(port);
    d.proc = proc;
    for (let i = 0; i < 100; i++) {
      try {
        const r = await fetch(`${d.base}/status`);
        if (r.ok) return d;
      } catch {}
      await sleep(100);
    }
    proc.kill();
    throw new Error("chromedriver did not start");
  }

  async call(method, path, body) {
    const r = await fetch(`${this.base}${path}`, {
      method,
      headers: { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const j = await r.json();
    if (!r.ok) throw new Error(`${method} ${path}: ${JSON.stringify(j.value).slice(0, 400)}`);
    return j.value;
  }

  /** A new browser with a fresh profile (so nothing is cached). Below
   *  500 px wide (Chromium's smallest window) the page is emulated as a
   *  phone of that CSS size. */
  async open(width = 1280, height = 900) {
    this.profile = mkdtempSync(join(tmpdir(), "asu-bench-chrome-"));
    const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      `--user-data-dir=${this.profile}`, `--window-size=${width},${height}`];
    const s = await this.call("POST", "/session", {
      capabilities: { alwaysMatch: { browserName: "chrome", "goog:chromeOptions": { binary: "/usr/bin/chromium", args: flags,
        ...(width < 500 ? { mobileEmulation: { deviceMetrics: { width, height, pixelRatio: 2, touch: true } } } : {}) } } },
    });
    this.session = s.sessionId;
    return this;
  }

  async goto(url) {
    await this.call("POST", `/session/${this.session}/url`, { url });
  }

  /** Runs `script` (a function body) with `args`; awaits a returned promise. */
  async run(script, ...args) {
    return this.call("POST", `/session/${this.session}/execute/async`, {
      script: `const done = arguments[arguments.length - 1];
               Promise.resolve((async (...a) => { ${script} })(...Array.from(arguments).slice(0, -1)))
                 .then(done, (e) => done({ error: String(e && e.stack || e) }));`,
      args,
    });
  }

  async setTimeouts(ms) {
    await this.call("POST", `/session/${this.session}/timeouts`, { script: ms, pageLoad: ms });
  }

  async setViewport(width, height) {
    // Window size including the browser frame; headless has none.
    await this.call("POST", `/session/${this.session}/window/rect`, { width, height });
  }

  async screenshot() {
    return Buffer.from(await this.call("GET", `/session/${this.session}/screenshot`), "base64");
  }

  async close() {
    if (this.session) await this.call("DELETE", `/session/${this.session}`).catch(() => {});
    this.session = null;
    if (this.profile) rmSync(this.profile, { recursive: true, force: true });
  }

  stop() {
    this.proc?.kill();
  }
}
