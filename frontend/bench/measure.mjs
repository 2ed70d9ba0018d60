// Browser measurements of the router-free page, printed as JSON:
//   first render: from navigation start to the app's `asu-first-render`
//     performance mark (page mounted and usable), in fresh browsers (no cache);
//     also when the first device list is searchable (`asu-devices-ready`);
//   device search: per keystroke, from the input event to the result list
//     showing that text (`#device-results[data-query]`), via performance.now().
//
//   node frontend/bench/measure.mjs <page url> <chromedriver port> [runs]

import { Driver } from "./webdriver.mjs";

const [url, driverPort, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || 5);
const QUERIES = ["glinet gl-mt6000", "tp-link archer c7 v5", "netgear", "x", "glinet,gl-mt6000"];

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};
const round = (x) => (x == null ? null : Math.round(x * 10) / 10);

const driver = await Driver.start(Number(driverPort));
const out = { url, runs, firstRender: [], devicesReady: [], search: {} };
try {
  for (let i = 0; i < runs; i++) {
    await driver.open(1280, 900);
    await driver.setTimeouts(60000);
    await driver.goto(url);
    const marks = await driver.run(`
      const mark = (n) => performance.getEntriesByName(n)[0];
      const t0 = Date.now();
      while (!(mark('asu-first-render') && mark('asu-devices-ready'))) {
        if (Date.now() - t0 > 30000) throw new Error('no marks: ' + document.body.innerText.slice(0, 300));
        await new Promise((r) => setTimeout(r, 20));
      }
      return [mark('asu-first-render').startTime, mark('asu-devices-ready').startTime];`);
    if (marks.error) throw new Error(marks.error);
    out.firstRender.push(round(marks[0]));
    out.devicesReady.push(round(marks[1]));
    if (i < runs - 1) await driver.close();
  }
  // Search in the last browser, once every device list has arrived.
  const timing = await driver.run(`
    const queries = arguments[0];
    const input = document.querySelector('#device-search');
    const list = () => document.querySelector('#device-results');
    const t0 = Date.now();
    while (!/Type to search (\\d+)/.test(document.querySelector('#device-count').textContent)
           || Number(document.querySelector('#device-count').textContent.match(/(\\d+)/)[1]) < 1534) {
      if (Date.now() - t0 > 30000) throw new Error('device lists incomplete: ' + document.querySelector('#device-count').textContent);
      await new Promise((r) => setTimeout(r, 20));
    }
    const devices = Number(document.querySelector('#device-count').textContent.match(/(\\d+)/)[1]);
    const keystroke = (text) => new Promise((resolve) => {
      const start = performance.now();
      const seen = () => list() && list().dataset.query === text;
      const obs = new MutationObserver(() => {
        if (seen()) { obs.disconnect(); resolve(performance.now() - start); }
      });
      obs.observe(input.parentElement, { subtree: true, childList: true, attributes: true, characterData: true });
      input.value = text;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      if (seen()) { obs.disconnect(); resolve(performance.now() - start); }
    });
    const result = { devices, perQuery: {} };
    for (const q of queries) {
      const times = [];
      for (let i = 1; i <= q.length; i++) times.push(await keystroke(q.slice(0, i)));
      // Deleting back to empty is typing too.
      for (let i = q.length - 1; i >= 0; i--) times.push(await keystroke(q.slice(0, i)));
      result.perQuery[q] = { times, results: list().children.length };
      await new Promise((r) => setTimeout(r, 50));
    }
    return result;`, QUERIES);
  if (timing.error) throw new Error(timing.error);
  const all = Object.values(timing.perQuery).flatMap((q) => q.times);
  out.search = {
    devices: timing.devices,
    keystrokes: all.length,
    medianMs: round(median(all)),
    maxMs: round(Math.max(...all)),
    perQueryMaxMs: Object.fromEntries(Object.entries(timing.perQuery).map(([q, v]) => [q, round(Math.max(...v.times))])),
  };
  out.firstRenderMedianMs = median(out.firstRender);
  out.devicesReadyMedianMs = median(out.devicesReady);
} finally {
  await driver.close();
  driver.stop();
}
console.log(JSON.stringify(out));
