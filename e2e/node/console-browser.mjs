// Drives the gateway's web console in a real headless Chromium (Debian's, through
// playwright-core; no browser download) for e2e/tests/console.rs.
//
//   node console-browser.mjs <console-url> <screenshot.png> <tool>
//
// With CONSOLE_TOKEN set, the page must first ask for a token (the gateway's auth is on):
// the script types it into the page's sign-in form, as a person would.
// Prints one JSON line per step on stdout and reads one line on stdin in between:
//   1. {"step":"rendered", ...}  once the page shows servers and tools, with what it shows
//      and whether the feed holds a call of <tool> yet;
//   2. (waits for a line on stdin: the test has called <tool> through the gateway)
//   3. {"step":"updated", ...}   once the feed shows that call without a reload, after
//      taking a screenshot.
// Errors in the page (script errors, CSP violations, failed requests) are reported in each
// step; the process exits 1 on any failure of its own.
import { createInterface } from "node:readline";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, screenshot, tool] = process.argv.slice(2);
if (!url || !screenshot || !tool) {
  console.error("usage: node console-browser.mjs <console-url> <screenshot.png> <tool>");
  process.exit(2);
}
const STEP_TIMEOUT_MS = 20_000;
const executablePath = process.env.CHROMIUM_BIN || "/usr/bin/chromium";

const lines = createInterface({ input: process.stdin });
const nextLine = () => new Promise((resolve) => lines.once("line", resolve));
const say = (step) => process.stdout.write(`${JSON.stringify(step)}\n`);

// A fresh profile (playwright passes it as --user-data-dir); nothing reaches out to
// Google's services.
const profile = mkdtempSync(join(tmpdir(), "mcp-gateway-console-chromium-"));
let browser = null;
let status = 0;
try {
  browser = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const page = browser.pages()[0] ?? await browser.newPage();
  const errors = [];
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    // With auth on, the first poll's 401 is how the page learns to ask for a token.
    const expected = process.env.CONSOLE_TOKEN && message.text().includes("401");
    if (message.type() === "error" && !expected) errors.push(`console: ${message.text()}`);
  });
  page.on("requestfailed", (request) =>
    errors.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));

  const response = await page.goto(url, { waitUntil: "load", timeout: STEP_TIMEOUT_MS });
  const token = process.env.CONSOLE_TOKEN;
  let signedIn = false;
  if (token) {
    await page.waitForSelector("#auth", { state: "visible", timeout: STEP_TIMEOUT_MS });
    await page.fill("#token", token);
    await page.click("#auth-form button[type=submit]");
    signedIn = true;
  }
  await page.waitForSelector("body[data-loaded=true] #servers tr[data-server]",
    { timeout: STEP_TIMEOUT_MS });
  // Open every server's tools, as an operator would to read them.
  await page.$$eval("details.server", (all) => all.forEach((d) => { d.open = true; }));
  const callsOf = (name) => page.$$eval("#calls tr.call", (rows, name) =>
    rows.filter((r) => r.cells[2]?.textContent.includes(`tools/call ${name}`)).length, name);
  const shown = await page.evaluate(() => ({
    title: document.title,
    servers: [...document.querySelectorAll("#servers tr[data-server]")].map((row) => ({
      name: row.dataset.server,
      health: row.cells[1].textContent,
      url: row.cells[2].textContent,
      prefix: row.cells[3].textContent,
      lastListing: row.cells[5].textContent,
    })),
    tools: [...document.querySelectorAll("#tools .tool[data-tool]")].map((t) => ({
      name: t.dataset.tool,
      description: t.children[1].textContent,
      schema: t.querySelector("pre.schema").textContent,
    })),
    sessions: document.getElementById("sessions").textContent,
    metrics: document.getElementById("metrics-link")?.href ?? null,
    inSync: document.querySelector("#config tr td")?.textContent,
  }));
  say({ step: "rendered", status: response?.status(), signedIn, ...shown,
        callsOfTool: await callsOf(tool), errors: [...errors] });

  await nextLine();
  // No reload: the page's own polling must bring the call in.
  const started = Date.now();
  await page.waitForFunction((name) =>
    [...document.querySelectorAll("#calls tr.call")]
      .some((r) => r.cells[2]?.textContent.includes(`tools/call ${name}`)),
  tool, { timeout: STEP_TIMEOUT_MS, polling: 100 });
  const row = await page.$$eval("#calls tr.call", (rows, name) => {
    const r = rows.find((r) => r.cells[2]?.textContent.includes(`tools/call ${name}`));
    return [...r.cells].map((c) => c.textContent);
  }, tool);
  const sessions = await page.textContent("#sessions");
  await page.screenshot({ path: screenshot, fullPage: true });
  say({ step: "updated", afterMs: Date.now() - started, row, sessions,
        callsOfTool: await callsOf(tool), errors: [...errors] });
} catch (error) {
  console.error(error?.stack || String(error));
  status = 1;
} finally {
  lines.close();
  await browser?.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
process.exit(status);
