// A stand-in for the edge, for the benchmark and for trying the page by
// hand: serves frontend/dist and the metadata endpoints the router-free page
// reads, made from the real fixtures, plus a fake build (queued, building,
// done) whose images are small generated files with real sha256 sums.
// Not a test of the edge: the edge's own tests run the real worker.
//
//   node frontend/bench/serve.mjs [--port 48080] [--dist frontend/dist]
//        [--fixtures ../shared/fixtures/upstream] [--upgrade-check]
//
// Prints "listening on http://127.0.0.1:<port>" once it accepts connections.

import { createServer } from "node:http";
import { createHash } from "node:crypto";
import { readFileSync, existsSync, readdirSync, statSync } from "node:fs";
import { join, dirname, extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const port = Number(opt("--port", "48080"));
const dist = resolve(opt("--dist", join(here, "..", "dist")));
const fixtures = resolve(opt("--fixtures", join(here, "..", "..", "..", "shared", "fixtures", "upstream")));
const withCheck = args.includes("--upgrade-check");

const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));
const releasesDir = join(fixtures, "releases");
const versions = readdirSync(releasesDir).filter((v) => statSync(join(releasesDir, v)).isDirectory());

// target/subtarget -> profiles.json path, per version.
function profilesOf(version) {
  const out = {};
  const tdir = join(releasesDir, version, "targets");
  if (!existsSync(tdir)) return out;
  for (const t of readdirSync(tdir)) {
    for (const st of readdirSync(join(tdir, t))) {
      const p = join(tdir, t, st, "profiles.json");
      if (existsSync(p)) out[`${t}/${st}`] = p;
    }
  }
  return out;
}

function overview() {
  const branches = {};
  for (const v of versions) {
    const name = v.replace("-SNAPSHOT", "").split(".").slice(0, 2).join(".");
    const targets = {};
    for (const [t, p] of Object.entries(profilesOf(v))) targets[t] = readJson(p).arch_packages || "";
    const b = (branches[name] ||= {
      name, enabled: true, snapshot: true, versions: [], targets: {}, path: "releases/{version}",
      path_packages: `releases/packages-${name}`, package_changes: [],
    });
    b.versions.push(v);
    b.snapshot = b.snapshot && v.endsWith("SNAPSHOT");
    Object.assign(b.targets, targets);
  }
  branches["24.10"] && (branches["24.10"].package_changes = [
    { source: "auc", target: "owut", revision: 0 },
    { source: "", target: "fitblk", revision: 0, mandatory: true },
  ]);
  return {
    latest: versions.filter((v) => !v.includes("SNAPSHOT")).sort().reverse(),
    branches,
    upstream_url: `http://127.0.0.1:${port}/upstream`,
    server: { version: "bench", contact: "", allow_defaults: true, repository_allow_list: [],
      max_custom_rootfs_size_mb: 1024, max_defaults_length: 20480 },
  };
}

function mergedProfile(version, target, wanted) {
  const path = profilesOf(version)[target];
  if (!path) return null;
  const pj = readJson(path);
  const ids = Object.keys(pj.profiles);
  const asId = wanted.replace(",", "_");
  let id = ids.find((i) => i === asId)
    || ids.find((i) => (pj.profiles[i].supported_devices || []).includes(wanted))
    || (ids.length === 1 && ids[0] === "generic" ? "generic" : null);
  if (!id) return null;
  const { profiles, ...top } = pj;
  return { ...top, ...profiles[id], id };
}

// Package indexes: every name the release's profiles mention, plus a few
// common feed packages, with made-up versions (the fixtures have none).
const FEED = ["luci", "luci-ssl", "luci-app-sqm", "sqm-scripts", "tcpdump", "wireguard-tools", "owut",
  "luci-app-attendedsysupgrade", "iperf3", "htop", "nano", "curl", "ca-bundle", "kmod-wireguard"];
function index(version, target) {
  const names = new Set(FEED);
  for (const p of Object.values(profilesOf(version))) {
    const pj = readJson(p);
    if (target && pj.target !== target) continue;
    (pj.default_packages || []).forEach((n) => names.add(n));
    for (const prof of Object.values(pj.profiles)) (prof.device_packages || []).forEach((n) => n.startsWith("-") || names.add(n));
  }
  const packages = {};
  for (const n of [...names].sort()) packages[n] = `${version.split(".")[0]}.${n.length}-r1`;
  return packages;
}

// The sysupgrade metadata trailer (fwtool), as docs/router-rpc.md describes it.
function crc32(buf) {
  let crc = ~0 >>> 0;
  for (const b of buf) {
    crc ^= b;
    for (let i = 0; i < 8; i++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return crc >>> 0;
}
function withTrailer(body, meta) {
  const json = Buffer.from(JSON.stringify(meta));
  const head = Buffer.concat([body, Buffer.alloc(8), json]);
  const tail = Buffer.alloc(16);
  tail.writeUInt32BE(0x46577830, 0);
  tail.writeUInt32BE(crc32(head), 4);
  tail.writeUInt8(1, 8);
  tail.writeUInt32BE(8 + json.length + 16, 12);
  return Buffer.concat([head, tail]);
}

// Fake builds: queued for a second, then building, then done.
const builds = new Map();
function buildAnswer(hash) {
  const b = builds.get(hash);
  if (!b) return [404, { detail: `No build with request hash ${hash} is known`, status: 404 }];
  const age = Date.now() - b.started;
  if (age < 1200) return [202, { request_hash: hash, status: 202, detail: "queued", queue_position: age < 600 ? 1 : 0 }];
  if (age < 2400) return [202, { request_hash: hash, status: 202, detail: "started", imagebuilder_status: age < 1800 ? "validate_manifest" : "building_image" }];
  return [200, { request_hash: hash, status: 200, detail: "done", ...b.result }];
}
function startBuild(body) {
  let req;
  try { req = JSON.parse(body); } catch { return [400, { detail: "the request body is not JSON", status: 400 }]; }
  const profile = mergedProfile(req.version, req.target, req.profile || "");
  if (!profile) return [400, { detail: `Unknown profile ${req.profile}`, status: 400 }];
  const known = index(req.version, req.target);
  const unknown = req.diff_packages ? null : (req.packages || []).map((p) => p.replace(/^-/, "")).find((p) => !known[p] && !(profile.default_packages || []).includes(p));
  if (unknown) return [422, { detail: `Unknown package: ${unknown}`, status: 422 }];
  const hash = createHash("sha256").update(body).digest("hex");
  if (!builds.has(hash)) {
    const files = {};
    const images = (profile.images || []).map((i) => {
      let bytes = Buffer.from(`bench image ${i.name} for ${hash}\n`.repeat(2000));
      if (i.type === "sysupgrade" || i.type.startsWith("combined")) {
        bytes = withTrailer(bytes, { metadata_version: "1.1", compat_version: "1.0",
          supported_devices: profile.supported_devices || [req.profile],
          version: { dist: "OpenWrt", version: req.version, revision: profile.version_code || "", target: req.target, board: profile.id } });
      }
      files[i.name] = bytes;
      return { ...i, sha256: createHash("sha256").update(bytes).digest("hex") };
    });
    builds.set(hash, { started: Date.now(), files, result: { ...profile, images, bin_dir: hash, manifest: {},
      build_at: new Date().toISOString(), version_number: req.version, version_code: profile.version_code || "" } });
  }
  return buildAnswer(hash);
}

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm", ".json": "application/json" };
function send(res, status, body, type = "application/json") {
  const data = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(status, { "Content-Type": type, "Access-Control-Allow-Origin": "*", "Cache-Control": "no-store" });
  res.end(data);
}

const server = createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  const path = decodeURIComponent(url.pathname);
  let m;
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    if (req.method === "OPTIONS") {
      res.writeHead(204, { "Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, POST, HEAD, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type" });
      return res.end();
    }
    if (path === "/json/v1/overview.json") return send(res, 200, overview());
    if ((m = path.match(/^\/json\/v1\/releases\/([^/]+)\/\.overview\.json$/))) {
      const p = join(releasesDir, m[1], ".overview.json");
      return existsSync(p) ? send(res, 200, readFileSync(p)) : send(res, 404, { detail: "No such metadata file" });
    }
    if ((m = path.match(/^\/json\/v1\/releases\/([^/]+)\/targets\/([^/]+\/[^/]+)\/index\.json$/))) {
      return send(res, 200, { architecture: "", packages: index(m[1], m[2]) });
    }
    if ((m = path.match(/^\/json\/v1\/releases\/([^/]+)\/packages\/([^/]+)-index\.json$/))) return send(res, 200, index(m[1], null));
    if ((m = path.match(/^\/json\/v1\/releases\/([^/]+)\/targets\/([^/]+\/[^/]+)\/([^/]+)\.json$/))) {
      const p = mergedProfile(m[1], m[2], m[3]);
      return p ? send(res, 200, p) : send(res, 404, { detail: `No profile ${m[3]} in ${m[1]} ${m[2]}` });
    }
    if (path === "/api/v1/upgrade-check" && req.method === "POST") {
      if (!withCheck) return send(res, 404, { detail: 'No API endpoint at "/api/v1/upgrade-check"' });
      const q = JSON.parse(body || "{}");
      const newest = versions.filter((v) => !v.includes("SNAPSHOT")).sort().reverse()[0];
      if (q.version === newest) return send(res, 204, "");
      const idx = index(newest, q.target);
      const changes = Object.entries(q.packages || {}).filter(([n, v]) => idx[n] && idx[n] !== v)
        .map(([name, from]) => ({ name, from, to: idx[name] }));
      return send(res, 200, { version: newest, changes,
        replacements: [{ source: "auc", target: "owut" }, { source: "", target: "fitblk", mandatory: true }]
          .filter((r) => r.mandatory || (q.packages || {})[r.source]) });
    }
    if (path === "/api/v1/build" && req.method === "POST") { const [s, a] = startBuild(body); return send(res, s, a); }
    if ((m = path.match(/^\/api\/v1\/build\/([0-9a-f]{64})$/))) { const [s, a] = buildAnswer(m[1]); return send(res, s, a); }
    if ((m = path.match(/^\/store\/([0-9a-f]{64})\/([^/]+)$/))) {
      const file = builds.get(m[1])?.files[m[2]];
      return file ? send(res, 200, file, "application/octet-stream") : send(res, 404, { detail: "No such file" });
    }
    const file = join(dist, path === "/" ? "index.html" : path);
    if (file.startsWith(dist) && existsSync(file) && statSync(file).isFile()) {
      return send(res, 200, readFileSync(file), TYPES[extname(file)] || "application/octet-stream");
    }
    send(res, 404, { detail: `Nothing at ${path}` });
  });
});
server.listen(port, "127.0.0.1", () => console.log(`listening on http://127.0.0.1:${server.address().port}`));
