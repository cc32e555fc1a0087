// The console page: polls /console/api/status and renders it. Everything a server or client
// said (names, descriptions, schemas, errors) is set with textContent, never as markup.
"use strict";

const STATUS_URL = "/console/api/status";
const POLL_MS = 2000;
const TOKEN_KEY = "mcp-gateway-console-token";

// Rebuilt only when what they show changes, so open <details> stay open between polls.
let shownTools = "";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function set(id, ...children) {
  document.getElementById(id).replaceChildren(...children);
}

function ago(nowMs, thenMs) {
  if (!thenMs) return "never";
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s ago`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m ago`;
}

function health(server) {
  if (!server.enabled) return el("span", { class: "badge off" }, "disabled");
  if (!server.attempted) return el("span", { class: "badge pending" }, "pending");
  return server.healthy
    ? el("span", { class: "badge up" }, "up")
    : el("span", { class: "badge down", title: server.last_error || "" }, "down");
}

function metricsLink(address) {
  if (!address) return el("span", {}, "metrics: off");
  // An unspecified bind address means "every interface": use the one this page came from.
  const [, host, port] = address.match(/^(.*):(\d+)$/) || [];
  const shown = host === "0.0.0.0" || host === "[::]" ? location.hostname : host;
  const url = `http://${shown}:${port}/metrics`;
  return el("span", {}, "metrics: ", el("a", { href: url, id: "metrics-link" }, url));
}

function renderServers(status) {
  const rows = status.servers.map((s) =>
    el("tr", { "data-server": s.name },
      el("td", {}, el("b", {}, s.name)),
      el("td", {}, health(s),
        s.last_error ? el("div", { class: "error" }, s.last_error) : null),
      el("td", {}, el("code", {}, s.url)),
      el("td", {}, el("code", {}, s.prefix)),
      el("td", { class: "num" }, s.tools.length),
      el("td", { class: "num" }, ago(status.now_ms, s.last_listed_ms))));
  set("servers", ...rows);
}

function renderTools(status) {
  const shape = JSON.stringify(status.servers.map((s) => [s.name, s.tools]));
  if (shape === shownTools) return;
  shownTools = shape;
  const open = new Set(
    [...document.querySelectorAll("details.server[open]")].map((d) => d.dataset.server));
  const sections = status.servers.filter((s) => s.enabled).map((s) => {
    const tools = s.tools.map((t) =>
      el("div", { class: "tool", "data-tool": t.name },
        el("div", { class: "name" }, el("code", {}, t.name),
          t.title ? el("span", { class: "muted" }, ` · ${t.title}`) : null),
        el("div", {}, t.description || el("span", { class: "muted" }, "no description")),
        el("details", {}, el("summary", { class: "muted" }, "input schema"),
          el("pre", { class: "schema" }, JSON.stringify(t.inputSchema ?? {}, null, 2)))));
    return el("details", { class: "server", "data-server": s.name, open: open.has(s.name) },
      el("summary", {}, `${s.name} `, el("span", { class: "muted" }, `${s.tools.length} tools`)),
      ...(tools.length ? tools : [el("p", { class: "muted" }, "no tools listed")]));
  });
  set("tools", ...sections);
}

function renderCalls(status) {
  if (status.recent_calls === null) {
    set("calls");
    set("calls-note", "No audit stream in this process.");
    return;
  }
  // Newest first; the status holds them oldest first.
  const calls = [...status.recent_calls].reverse().filter((c) => c.method);
  const rows = calls.map((c) => {
    const when = c.time ? new Date(c.time).toLocaleTimeString() : "";
    const who = c.subject || c.client_id || "anonymous";
    const target = c.exposed ? ` ${c.exposed}` : "";
    const server = c.server ? el("div", { class: "muted" }, `→ ${c.server}`) : null;
    const decision = c.decision || "?";
    const outcome = c.status ? `${decision} ${c.status}` : decision;
    const micros = c.duration_us;
    let took = "";
    if (typeof micros === "number") {
      took = micros < 1000 ? `${micros} µs` : `${(micros / 1000).toFixed(1)} ms`;
    }
    return el("tr", { class: "call", "data-request-id": c.request_id },
      el("td", { class: "num" }, when),
      el("td", {}, who),
      el("td", {}, el("code", {}, `${c.method}${target}`), server),
      el("td", {}, el("span", { class: `badge ${decision}` }, outcome)),
      el("td", { class: "num" }, took));
  });
  set("calls", ...rows);
  set("calls-note", calls.length
    ? "Routed calls and denials, newest first. Check: the time the gateway's policy check " +
      "took; a call's own duration and status are in Envoy's access log (by request id)."
    : "No calls yet.");
}

function renderConfig(status) {
  const c = status.config;
  const row = (name, value) => el("tr", {}, el("th", {}, name), el("td", {}, value));
  set("config",
    row("in sync", c.in_sync ? el("span", { class: "badge up" }, "yes")
      : el("span", { class: "badge down" }, "no: the last edit was rejected")),
    row("reloads applied", c.reloads),
    row("edits rejected", c.rejections),
    row("last rejection", c.last_rejection
      ? el("pre", { class: "error", id: "last-rejection" }, c.last_rejection)
      : el("span", { class: "muted" }, "none")),
    row("authentication", c.auth ? "on" : "off"));
}

function render(status) {
  const enabled = status.servers.filter((s) => s.enabled);
  set("sessions", status.sessions === null ? "unknown" : status.sessions);
  set("server-count", `${enabled.filter((s) => s.healthy).length}/${enabled.length} up`);
  set("tool-count", enabled.reduce((n, s) => n + s.tools.length, 0));
  set("metrics", metricsLink(status.metrics_address));
  renderServers(status);
  renderTools(status);
  renderCalls(status);
  renderConfig(status);
  set("updated", `updated ${new Date(status.now_ms).toLocaleTimeString()}`);
  document.body.dataset.loaded = "true";
}

async function poll() {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    const response = await fetch(STATUS_URL, { headers, cache: "no-store" });
    const auth = document.getElementById("auth");
    if (response.status === 401 || response.status === 403) {
      auth.style.display = "block";
      set("auth-error", token ? `The gateway refused this token (${response.status}).` : "");
      set("updated", "not signed in");
      return;
    }
    auth.style.display = "none";
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(await response.json());
  } catch (error) {
    set("updated", el("span", { class: "error" }, `cannot reach the gateway: ${error.message}`));
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

document.getElementById("auth-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = document.getElementById("token").value.trim();
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
});

poll();
