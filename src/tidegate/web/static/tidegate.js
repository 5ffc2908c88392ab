// Tidegate web UI: the live stream, the dialogs and the forms. Data from the API is only ever
// written into the page with textContent or attributes, never parsed as HTML.
"use strict";

const JSON_HEADERS = { "Content-Type": "application/json" };
const DIALOG_KEY = "tidegate.dialog:" + location.pathname;

function toLogin(reason) {
  saveDialog();
  const next = location.pathname + location.search;
  location.assign("/login?" + new URLSearchParams({ reason: reason, next: next }));
}

async function api(method, path, body) {
  const init = { method: method, credentials: "same-origin", headers: {} };
  if (method !== "GET") init.headers = JSON_HEADERS;
  if (body !== undefined) init.body = JSON.stringify(body);
  const resp = await fetch(path, init);
  if (resp.status === 401) {
    toLogin("expired");
    throw new Error("session expired");
  }
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(data.message || resp.status + " " + resp.statusText);
  return data;
}

function toast(text) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 4000);
}

// -- the stream: after a drop or a refusal, check the session (login when it ended) and open
// a new stream after a pause (1 s, doubling to 15 s), which starts with every app again.
function openStream(url, onMessage, onReconnect) {
  const live = document.getElementById("live");
  let source = null;
  let delay = 1000;
  let closed = false;
  const setState = (state) => {
    if (!live) return;
    live.dataset.state = state;
    live.textContent = state;
  };
  const connect = (first) => {
    if (closed) return;
    source = new EventSource(url(first));
    source.onopen = () => {
      setState("live");
      delay = 1000;
      if (!first) onReconnect();
    };
    source.onmessage = (ev) => {
      const msg = JSON.parse(ev.data);
      if (msg.error) return; // the server ends a lagging stream; onerror reconnects
      onMessage(msg.result);
    };
    source.onerror = async () => {
      if (closed) return;
      setState("reconnecting");
      // Reconnect ourselves rather than let EventSource retry the same URL: the list's first
      // URL carries the resourceVersion it was rendered at, and a retry would skip what changed.
      source.close();
      try {
        const check = await fetch("/api/v1/session/userinfo", { credentials: "same-origin" });
        if (check.status === 401) return toLogin("expired");
      } catch (err) {
        // the server is unreachable: try again later
      }
      setTimeout(() => connect(false), delay);
      delay = Math.min(delay * 2, 15000);
    };
  };
  connect(true);
  const close = () => {
    closed = true;
    if (source) source.close();
  };
  window.addEventListener("beforeunload", close);
  return { close: close };
}

// The fingerprint of a tree's live children: views.children_signature computes the same one.
function childrenSignature(nodes) {
  const lines = nodes.filter((n) => n.parentRefs && n.parentRefs.length).map((n) => (n.uid || "") + "@" + (n.resourceVersion || ""));
  lines.sort();
  let value = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(lines.join("\n"))) value = Math.imul(value ^ byte, 0x01000193) >>> 0;
  return value.toString(16).padStart(8, "0");
}

// -- the application list ------------------------------------------------------------------

function appSummary(app) {
  const meta = app.metadata || {};
  const spec = app.spec || {};
  const status = app.status || {};
  const dest = spec.destination || {};
  const src = spec.source || (spec.sources || [{}])[0] || {};
  let phase = (status.operationState || {}).phase || "";
  if (app.operation && phase !== "Running" && phase !== "Terminating") phase = "Requested";
  return {
    name: meta.name || "",
    namespace: meta.namespace || "",
    project: spec.project || "",
    labels: meta.labels || {},
    repo: src.repoURL || "",
    path: src.path || src.chart || "",
    target: src.targetRevision || "HEAD",
    revision: ((status.sync || {}).revision || "").slice(0, 7),
    cluster: dest.name || dest.server || "",
    dest_namespace: dest.namespace || "",
    sync: (status.sync || {}).status || "Unknown",
    health: (status.health || {}).status || "Unknown",
    operation: phase,
  };
}

function setBadge(holder, status) {
  badgeTo(holder.querySelector(".badge"), status);
}

function badgeTo(badge, status) {
  if (!badge || badge.dataset.status === status) return;
  badge.dataset.status = status;
  badge.title = badge.dataset.kind === "health" ? "Health: " + status : "Sync: " + status;
  badge.querySelector(".badge-label").textContent = status;
}

function fill(el, s) {
  el.dataset.app = s.name;
  el.dataset.sync = s.sync;
  el.dataset.health = s.health;
  const f = (name) => el.querySelector('[data-f="' + name + '"]');
  const link = f("name");
  link.textContent = s.name;
  link.href = "/applications/" + encodeURIComponent(s.namespace) + "/" + encodeURIComponent(s.name);
  for (const key of ["project", "repo", "path", "target", "revision", "cluster", "dest_namespace"]) {
    const node = f(key);
    if (node) node.textContent = s[key];
  }
  setBadge(f("health"), s.health);
  setBadge(f("sync"), s.sync);
  const phase = f("operation").querySelector(".phase");
  phase.dataset.phase = s.operation;
  phase.textContent = s.operation;
  const labels = f("labels");
  labels.replaceChildren(
    ...Object.entries(s.labels).map(([k, v]) => {
      const span = document.createElement("span");
      span.className = "label";
      span.textContent = k + "=" + v;
      return span;
    })
  );
  markFavourite(el);
}

const FAV_KEY = "tidegate.favourites";
const favourites = () => new Set(JSON.parse(localStorage.getItem(FAV_KEY) || "[]"));

function markFavourite(el) {
  const on = favourites().has(el.dataset.app);
  const button = el.querySelector('[data-action="favourite"]');
  button.setAttribute("aria-pressed", String(on));
  button.title = on ? "Remove from favourites" : "Add to favourites";
  const only = new URLSearchParams(location.search).get("showFavorites") === "true";
  el.hidden = only && !on;
}

let summaryTimer = null;
function recount() {
  const main = document.getElementById("main");
  const favouritesOnly = new URLSearchParams(location.search).get("showFavorites") === "true";
  if (main.dataset.truncated === "true" && !favouritesOnly) {
    // Not every matching app is on the page: the server counts them (the summary endpoint).
    clearTimeout(summaryTimer);
    summaryTimer = setTimeout(async () => {
      const s = await api("GET", main.dataset.summary);
      const counts = { total: s.total };
      for (const [k, v] of Object.entries(s.sync || {})) counts["sync:" + k] = v;
      for (const [k, v] of Object.entries(s.health || {})) counts["health:" + k] = v;
      for (const node of document.querySelectorAll("[data-count]")) {
        node.textContent = String(counts[node.dataset.count] || 0);
      }
    }, 500);
    return;
  }
  if (main.dataset.restPending === "true") return; // the rest of the part is on its way
  const apps = [...document.querySelectorAll("#app-container .app:not([hidden])")];
  const counts = { total: apps.length };
  for (const el of apps) {
    counts["sync:" + el.dataset.sync] = (counts["sync:" + el.dataset.sync] || 0) + 1;
    counts["health:" + el.dataset.health] = (counts["health:" + el.dataset.health] || 0) + 1;
  }
  for (const node of document.querySelectorAll("[data-count]")) {
    node.textContent = String(counts[node.dataset.count] || 0);
  }
  document.getElementById("no-apps").hidden = apps.length > 0;
}

function listPage(main) {
  const container = document.getElementById("app-container");
  const template = document.getElementById("app-template");
  const byName = new Map([...container.querySelectorAll(".app")].map((el) => [el.dataset.app, el]));
  byName.forEach(markFavourite);
  const truncated = main.dataset.truncated === "true";
  const names = [...byName.keys()];
  const firstPart = names[names.length - 1] || "";
  const lastShown = main.dataset.lastShown || firstPart;
  const gone = new Set(); // deleted while the rest of the part was on its way
  if (main.dataset.rest) {
    main.dataset.restPending = "true";
    appendRest(main, container, byName, firstPart, gone);
  }
  if (!truncated || new URLSearchParams(location.search).get("showFavorites") === "true") recount();
  const base = main.dataset.stream;
  const sep = base.includes("?") ? "&" : "?";
  let pending = false;
  const later = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      recount();
    });
  };
  const stream = openStream(
    // First connection: only changes after the rendered list; after a drop, everything again.
    (first) => (first ? base + sep + "resourceVersion=" + encodeURIComponent(main.dataset.resourceVersion) : base),
    (result) => {
      const s = appSummary(result.application);
      let el = byName.get(s.name);
      if (result.type === "DELETED") {
        if (el) el.remove();
        byName.delete(s.name);
        gone.add(s.name);
      } else {
        if (!el && truncated && s.name > lastShown) {
          later(); // beyond the rendered part of the list: only the counts change
          return;
        }
        if (!el) {
          el = template.content.querySelector(".app").cloneNode(true);
          const after = [...byName.keys()].sort().find((n) => n > s.name);
          container.insertBefore(el, after ? byName.get(after) : null);
          byName.set(s.name, el);
        }
        fill(el, s);
      }
      later();
    },
    () => {}
  );
  container.addEventListener("click", (ev) => {
    const button = ev.target.closest('[data-action="favourite"]');
    if (!button) return;
    const el = button.closest(".app");
    const set = favourites();
    if (set.has(el.dataset.app)) set.delete(el.dataset.app);
    else set.add(el.dataset.app);
    localStorage.setItem(FAV_KEY, JSON.stringify([...set]));
    markFavourite(el);
    recount();
  });
  // Filters live in the URL. A change asks the server for the list with the new query and
  // swaps it in (no page load); the stream is opened again with the new filters.
  const form = document.getElementById("filters");
  form.addEventListener("change", (ev) => {
    if (ev.target.name !== "search") form.requestSubmit();
  });
  let typing = null;
  document.getElementById("filter-search").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => form.requestSubmit(), 400);
  });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const params = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) params.append(k, v);
    showList("/applications?" + params, stream, true);
  });
  document.dispatchEvent(new CustomEvent("tidegate:list"));
}

// The page paints its first rows; the rest of its part (up to the limit) comes right after,
// rendered by the same macros. Rows the stream already added (or deleted) meanwhile are newer
// than the fetched ones and kept (or left out).
async function appendRest(main, container, byName, firstPart, gone) {
  try {
    const resp = await fetch(main.dataset.rest, { credentials: "same-origin" });
    if (resp.redirected && new URL(resp.url).pathname === "/login") return toLogin("expired");
    if (!resp.ok || document.getElementById("main") !== main) return;
    const rows = new DOMParser().parseFromString(await resp.text(), "text/html").getElementById("rows");
    if (document.getElementById("main") !== main) return; // a later filter change won
    const added = [...byName.keys()].filter((n) => n > firstPart).sort();
    const fragment = document.createDocumentFragment();
    let flushBefore = null;
    for (const row of [...rows.children]) {
      const name = row.dataset.app;
      if (byName.has(name) || gone.has(name)) continue;
      const el = document.importNode(row, true);
      markFavourite(el);
      byName.set(name, el);
      const before = added.find((n) => n > name);
      const anchor = before ? byName.get(before) : null;
      if (anchor !== flushBefore) {
        container.insertBefore(fragment, flushBefore);
        flushBefore = anchor;
      }
      fragment.append(el);
    }
    container.insertBefore(fragment, flushBefore);
  } finally {
    delete main.dataset.restPending;
    recount();
  }
}

let listRequest = 0;
async function showList(url, stream, push) {
  const mine = ++listRequest;
  const resp = await fetch(url, { credentials: "same-origin" });
  if (resp.redirected && new URL(resp.url).pathname === "/login") return toLogin("expired");
  const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
  if (mine !== listRequest) return; // a later filter change won
  const fresh = document.importNode(doc.getElementById("main"), true);
  const old = document.getElementById("main");
  const focused = document.activeElement && document.activeElement.id;
  const scroll = document.getElementById("filters").scrollTop;
  stream.close();
  if (push) history.pushState(null, "", url);
  old.replaceWith(fresh);
  document.getElementById("filters").scrollTop = scroll;
  const again = focused && document.getElementById(focused);
  if (again) {
    again.focus();
    if (again.setSelectionRange && again.type !== "checkbox") again.setSelectionRange(again.value.length, again.value.length);
  }
  listPage(fresh);
}
window.addEventListener("popstate", () => {
  if (document.getElementById("main").dataset.stream !== undefined) location.reload();
});

// -- dialogs: their inputs survive a trip to the login page (sessionStorage) -----------------

function saveDialog() {
  const open = document.querySelector("dialog[open]");
  if (!open || !open.querySelector("form[data-submit]")) return;
  const values = {};
  for (const input of open.querySelectorAll("input, textarea, select")) {
    if (!input.name) continue;
    if (input.type === "checkbox") values[input.name + (input.value !== "on" ? ":" + input.value : "")] = input.checked;
    else if (input.type === "radio") { if (input.checked) values[input.name] = input.value; }
    else values[input.name] = input.value;
  }
  const extra = {};
  for (const el of open.querySelectorAll("[data-f]")) extra[el.dataset.f] = el.textContent;
  sessionStorage.setItem(DIALOG_KEY, JSON.stringify({ id: open.id, values: values, extra: extra }));
}

function restoreDialog() {
  const saved = JSON.parse(sessionStorage.getItem(DIALOG_KEY) || "null");
  if (!saved) return;
  const dialog = document.getElementById(saved.id);
  if (!dialog) return;
  openDialog(dialog);
  for (const input of dialog.querySelectorAll("input, textarea, select")) {
    if (!input.name) continue;
    if (input.type === "checkbox") {
      const key = input.name + (input.value !== "on" ? ":" + input.value : "");
      if (key in saved.values) input.checked = saved.values[key];
    } else if (input.type === "radio") input.checked = saved.values[input.name] === input.value;
    else if (input.name in saved.values) input.value = saved.values[input.name];
  }
  for (const el of dialog.querySelectorAll("[data-f]")) {
    if (el.dataset.f in saved.extra) el.textContent = saved.extra[el.dataset.f];
  }
}

function closeDialog(dialog) {
  sessionStorage.removeItem(DIALOG_KEY);
  dialog.close();
}

function openDialog(dialog, fresh) {
  const current = fresh && dialog.id === "edit-dialog" && document.querySelector("#app-body #edit-form");
  if (current) dialog.replaceChildren(current.content.cloneNode(true)); // the app as it is now
  const error = dialog.querySelector(".error");
  if (error) error.hidden = true;
  if (dialog.id === "sync-dialog") fillSyncResources(dialog);
  if (!dialog.open) dialog.showModal();
}

// The managed resources (group/kind/namespace/name and sync status), from whichever of the
// list's rows or the tree's managed nodes the page body carries (it carries one of them).
function managedResources() {
  const rows = [...document.querySelectorAll("#app-body tr[data-resource]")];
  const from = rows.length
    ? rows.map((row) => [row.dataset.resource, row.dataset.sync])
    : [...document.querySelectorAll("#app-body .tree-children .node:not(.child)")].map((node) => [node.dataset.node, node.dataset.sync]);
  return from.map(([id, sync]) => {
    const [group, kind, namespace, name] = id.split("/");
    return { id: id, group: group, kind: kind, namespace: namespace, name: name, sync: sync };
  });
}

function fillSyncResources(dialog) {
  const box = document.getElementById("sync-resources");
  box.replaceChildren(
    ...managedResources().map((res) => {
      const label = document.createElement("label");
      label.className = "check";
      const input = document.createElement("input");
      input.type = "checkbox";
      input.name = "resource";
      input.value = res.id;
      input.checked = true;
      input.dataset.sync = res.sync;
      const text = document.createElement("span");
      text.textContent = res.kind + " " + (res.namespace ? res.namespace + "/" : "") + res.name;
      const state = document.createElement("span");
      state.className = "dim";
      state.textContent = " " + res.sync;
      label.append(input, " ", text, state);
      return label;
    })
  );
}

// -- the application page --------------------------------------------------------------------

// The statuses a stream message carries, shown at once (the app's badges and each managed
// node's), before the server renders the whole body again: a change is visible as soon as it
// arrives, not after a round trip for a body of hundreds of nodes.
function showStatus(body, app) {
  const s = appSummary(app);
  for (const badge of body.querySelectorAll('.app-head .badge[data-kind="health"], .tree-root .badge[data-kind="health"]')) badgeTo(badge, s.health);
  for (const badge of body.querySelectorAll('.app-head .badge[data-kind="sync"], .tree-root .badge[data-kind="sync"]')) badgeTo(badge, s.sync);
  const nodes = new Map([...body.querySelectorAll(".tree-children .node:not(.child)")].map((n) => [n.dataset.node, n]));
  for (const res of (app.status || {}).resources || []) {
    const node = nodes.get([res.group || "", res.kind || "", res.namespace || "", res.name || ""].join("/"));
    if (!node) continue;
    const health = (res.health || {}).status || "";
    node.dataset.sync = res.status || "Unknown";
    badgeTo(node.querySelector('.badge[data-kind="sync"]'), node.dataset.sync);
    if (health) {
      node.dataset.health = health;
      badgeTo(node.querySelector('.badge[data-kind="health"]'), health);
    }
  }
}

// The API path of the app the page shows, ``suffix`` ("/events", "/sync"...) and ``params``
// added, with its ``appNamespace``: an app outside the control namespace (apps in any
// namespace) is only found with it.
function appApi(suffix, params) {
  const main = document.getElementById("main");
  const q = new URLSearchParams(params || {});
  q.set("appNamespace", main.dataset.appNamespace || "");
  return "/api/v1/applications/" + encodeURIComponent(main.dataset.app) + (suffix || "") + "?" + q.toString();
}

// Make ``old``'s children the same as ``fresh``'s, touching only what differs: an element
// equal to its new version stays as it is, one with the same tag and as many children is
// patched in place (its attributes, then its children), anything else is replaced. A change of
// one node's status in a tree of hundreds rewrites that node only, not the whole body (which the
// browser would lay out again). A <template>'s content is not compared: it is always replaced.
function patchChildren(old, fresh) {
  const before = [...old.childNodes];
  const after = [...fresh.childNodes];
  if (before.length !== after.length) return old.replaceChildren(...after);
  before.forEach((node, i) => {
    const next = after[i];
    if (node.nodeName !== "TEMPLATE" && node.isEqualNode(next)) return;
    if (node.nodeType !== Node.ELEMENT_NODE || node.nodeName !== next.nodeName || node.nodeName === "TEMPLATE") {
      return old.replaceChild(next, node);
    }
    for (const attr of [...node.attributes]) if (!next.hasAttribute(attr.name)) node.removeAttribute(attr.name);
    for (const attr of [...next.attributes]) if (node.getAttribute(attr.name) !== attr.value) node.setAttribute(attr.name, attr.value);
    patchChildren(node, next);
  });
}

function appPage(main) {
  const name = main.dataset.app;
  const appNamespace = main.dataset.appNamespace || "";
  const body = document.getElementById("app-body");
  const setTab = (tab) => {
    main.dataset.view = tab;
    for (const b of document.querySelectorAll('[role="tab"]')) b.setAttribute("aria-selected", String(b.dataset.tab === tab));
    const url = new URL(location.href);
    url.searchParams.set("view", tab);
    history.replaceState(null, "", url);
    if (tab === "events") loadEvents();
    // The body carries one of the tree and the list: the other comes with the body for it.
    if (body.querySelector(".panel-" + tab + "[data-pending]")) rerender();
  };
  const loadEvents = async () => {
    const box = document.getElementById("events");
    try {
      const data = await api("GET", appApi("/events"));
      const items = data.items || [];
      if (!items.length) {
        const p = document.createElement("p");
        p.className = "dim";
        p.textContent = "No events about this application.";
        return box.replaceChildren(p);
      }
      box.replaceChildren(
        ...items.map((ev) => {
          const row = document.createElement("div");
          row.className = "event";
          row.dataset.type = ev.type || "";
          const when = document.createElement("span");
          when.className = "dim";
          when.textContent = ev.lastTimestamp || ev.eventTime || "";
          const reason = document.createElement("strong");
          reason.textContent = ev.reason || "";
          const msg = document.createElement("span");
          msg.textContent = ev.message || "";
          row.append(when, " ", reason, " ", msg);
          return row;
        })
      );
    } catch (err) {
      box.textContent = String(err.message);
    }
  };
  // Live: when the app changes, the server renders the page body again. The first change is
  // fetched at once; changes arriving meanwhile make one more fetch when it is done.
  let inFlight = false;
  let again = false;
  const fetchBody = async () => {
    const query = new URLSearchParams({ fragment: "1", view: main.dataset.view });
    const resp = await fetch(location.pathname + "?" + query, { credentials: "same-origin" });
    if (resp.redirected && new URL(resp.url).pathname === "/login") return toLogin("expired");
    if (!resp.ok) return;
    const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
    patchChildren(body, doc.body);
    forgetManaged();
    if (main.dataset.view === "events") loadEvents();
    // The tab changed while this body was on its way (the list asked for, the tree opened
    // meanwhile): the view now shown may be the placeholder, so ask once more for it.
    if (query.get("view") !== main.dataset.view && body.querySelector(".panel-" + main.dataset.view + "[data-pending]")) again = true;
  };
  const rerender = async () => {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      do {
        again = false;
        await fetchBody();
      } while (again);
    } finally {
      inFlight = false;
    }
  };
  setTab(new URLSearchParams(location.search).get("view") || "tree");
  const stream = "/api/v1/stream/applications?" + new URLSearchParams({ name: name, appNamespace: appNamespace }).toString();
  openStream(
    () => stream,
    (result) => {
      if (result.type === "DELETED") {
        toast("The application has been deleted.");
        setTimeout(() => location.assign("/applications"), 1200);
        return;
      }
      showStatus(body, result.application);
      rerender();
    },
    rerender
  );
  // The tree's stream: the server watches the destination while it is open, so Pods and
  // ReplicaSets that come and go show without a change of the app. The body is rendered again
  // only when the children differ from those it shows (their fingerprint).
  openStream(
    () => "/api/v1/stream/applications/" + encodeURIComponent(name) + "/resource-tree?" + new URLSearchParams({ appNamespace: appNamespace }).toString(),
    (tree) => {
      const shown = document.getElementById("children-signature");
      if (!shown || shown.dataset.children !== childrenSignature(tree.nodes || [])) rerender();
    },
    () => {}
  );

  document.addEventListener("click", async (ev) => {
    const t = ev.target.closest("button");
    if (!t) return;
    if (t.dataset.tab) return setTab(t.dataset.tab);
    if (t.dataset.nodeView) return showNodeView(t.closest("dialog"), t.dataset.nodeView);
    if (t.dataset.open) return openDialog(document.getElementById(t.dataset.open), true);
    if (t.hasAttribute("data-close")) return closeDialog(t.closest("dialog"));
    const action = t.dataset.action;
    if (action === "refresh") {
      t.disabled = true;
      try {
        await api("GET", appApi("", { refresh: t.dataset.refresh }));
        toast((t.dataset.refresh === "hard" ? "Hard refresh" : "Refresh") + " done");
      } catch (err) {
        toast(String(err.message));
      } finally {
        t.disabled = false;
      }
    } else if (action === "node") {
      showNode(t.dataset.node);
    } else if (action === "rollback") {
      const dialog = document.getElementById("rollback-dialog");
      dialog.querySelector('input[name="id"]').value = t.dataset.historyId;
      dialog.querySelector('[data-f="history-id"]').textContent = t.dataset.historyId;
      dialog.querySelector('[data-f="history-revision"]').textContent = t.dataset.revision;
      openDialog(dialog);
    } else if (action && action.startsWith("select-")) {
      for (const input of document.querySelectorAll('#sync-resources input')) {
        input.checked = action === "select-all" || (action === "select-out-of-sync" && input.dataset.sync !== "Synced");
      }
    }
  });

  // Delegated: the edit dialog's form is replaced each time it opens.
  document.addEventListener("input", (ev) => {
    const form = ev.target.closest && ev.target.closest("form[data-submit]");
    if (!form) return;
    form.querySelector(".error").hidden = true;
    saveDialog();
  });
  document.addEventListener("submit", async (ev) => {
    const form = ev.target.closest("form[data-submit]");
    if (!form) return;
    ev.preventDefault();
    const dialog = form.closest("dialog");
    const error = form.querySelector(".error");
    const values = new FormData(form);
    try {
      await SUBMIT[form.dataset.submit](values, form);
      closeDialog(dialog);
    } catch (err) {
      error.textContent = String(err.message);
      error.hidden = false;
    }
  });
  restoreDialog();
}

const SUBMIT = {
  async sync(values, form) {
    const body = { revision: values.get("revision") || undefined, prune: values.has("prune"), dryRun: values.has("dryRun") };
    const force = values.has("force");
    body.strategy = values.has("applyOnly") ? { apply: { force: force } } : { hook: { force: force } };
    if (values.has("applyOutOfSyncOnly")) body.syncOptions = { items: ["ApplyOutOfSyncOnly=true"] };
    const boxes = [...form.querySelectorAll('#sync-resources input')];
    const chosen = boxes.filter((b) => b.checked);
    if (boxes.length && !chosen.length) throw new Error("Choose at least one resource to sync.");
    if (chosen.length < boxes.length) {
      body.resources = chosen.map((b) => {
        const [group, kind, namespace, name] = b.value.split("/");
        return { group: group, kind: kind, namespace: namespace, name: name };
      });
    }
    await api("POST", appApi("/sync"), body);
    toast(body.dryRun ? "Dry run requested" : "Sync requested");
  },
  async rollback(values) {
    await api("POST", appApi("/rollback"), { id: Number(values.get("id")), prune: values.has("prune"), dryRun: values.has("dryRun") });
    toast("Rollback requested");
  },
  async edit(values, form) {
    // Applied to the latest version of the app, then written with the API's update endpoint.
    const app = await api("GET", appApi(""));
    const spec = app.spec || {};
    const type = form.dataset.sourceType;
    const src = spec.source;
    if (src && !form.dataset.multi) {
      if (type === "Helm") {
        const helm = src.helm || {};
        const forced = new Set((helm.parameters || []).filter((p) => p.forceString).map((p) => p.name));
        helm.parameters = lines(values.get("parameters")).map((line, i) => {
          const at = line.indexOf("=");
          if (at < 1) throw new Error("Helm parameter on line " + (i + 1) + " (" + JSON.stringify(line) + ") is not NAME=VALUE.");
          const p = { name: line.slice(0, at).trim(), value: line.slice(at + 1) };
          if (forced.has(p.name)) p.forceString = true;
          return p;
        });
        helm.valueFiles = lines(values.get("valueFiles"));
        helm.values = values.get("values") || "";
        for (const key of ["parameters", "valueFiles", "values"]) if (!helm[key].length) delete helm[key];
        if (Object.keys(helm).length) src.helm = helm;
        else delete src.helm;
      } else if (type === "Kustomize") {
        const k = src.kustomize || {};
        k.namePrefix = values.get("namePrefix").trim();
        k.nameSuffix = values.get("nameSuffix").trim();
        k.images = lines(values.get("images"));
        for (const [key, v] of Object.entries({ namePrefix: k.namePrefix, nameSuffix: k.nameSuffix, images: k.images })) if (!v.length) delete k[key];
        if (Object.keys(k).length) src.kustomize = k;
        else delete src.kustomize;
      } else {
        const d = src.directory || {};
        if (values.has("recurse")) d.recurse = true;
        else delete d.recurse;
        if (Object.keys(d).length) src.directory = d;
        else delete src.directory;
      }
    }
    const policy = spec.syncPolicy || {};
    if (values.has("automated")) policy.automated = Object.assign(policy.automated || {}, { prune: values.has("prune"), selfHeal: values.has("selfHeal") });
    else delete policy.automated;
    spec.syncPolicy = policy;
    app.spec = spec;
    delete app.status;
    await api("PUT", appApi(""), app);
    toast("Saved");
  },
  async delete(values) {
    const name = document.getElementById("main").dataset.app;
    if (values.get("confirm") !== name) throw new Error("Type " + name + " to confirm.");
    const mode = values.get("mode");
    const query = mode === "non-cascading" ? { cascade: "false" } : { cascade: "true", propagationPolicy: mode };
    await api("DELETE", appApi("", query));
    toast("Deletion requested");
  },
};

function lines(text) {
  return (text || "").split("\n").map((l) => l.trim()).filter((l) => l);
}

// The node panel: its summary asked for when it opens (``?fragment=node``: the server's own
// escaped fragment, read from its attributes), its manifests and diff from managed-resources
// (fetched once per version of the app: the page body's re-render forgets it).
let managed = null;
function forgetManaged() {
  managed = null;
}

async function nodeSummary(id) {
  const query = new URLSearchParams({ fragment: "node", node: id });
  const resp = await fetch(location.pathname + "?" + query, { credentials: "same-origin" });
  if (resp.redirected && new URL(resp.url).pathname === "/login") return toLogin("expired");
  if (!resp.ok) return null;
  return new DOMParser().parseFromString(await resp.text(), "text/html").getElementById("node-summary");
}

let nodeAsked = 0;
async function showNode(id) {
  const mine = ++nodeAsked;
  const data = await nodeSummary(id);
  if (mine !== nodeAsked) return; // another node was opened meanwhile
  if (!data) return toast("This resource is no longer in the application's tree.");
  const dialog = document.getElementById("node-dialog");
  const d = data.dataset;
  const set = (f, v) => (dialog.querySelector('[data-f="' + f + '"]').textContent = v);
  set("kind", d.kind);
  set("name", d.name);
  set("gv", (d.group ? d.group + "/" : "") + d.version);
  set("namespace", d.namespace || "(cluster-scoped)");
  set("sync", d.child ? "(not managed: owned by a managed resource)" : d.sync);
  set("health", d.health || "(no health)");
  set("health-message", d.child ? d.info : d.healthMessage);
  set("result", d.result || (d.child ? "" : "(not in the last sync)"));
  set("result-message", d.resultMessage);
  set("manifest", "");
  set("manifest-status", "Loading the manifests…");
  dialog.item = null;
  if (!dialog.open) dialog.showModal();
  try {
    if (d.child) {
      // A child has no desired state: its live manifest only (masked by the server).
      const q = { namespace: d.namespace, resourceName: d.name, kind: d.kind, group: d.group, version: d.version };
      const res = await api("GET", appApi("/resource", q));
      dialog.item = { liveState: res.manifest, targetState: null, diff: null, child: true };
      return showNodeView(dialog, "live");
    }
    if (!managed) managed = api("GET", appApi("/managed-resources"));
    const items = (await managed).items || [];
    const item = items.find((i) => (i.group || "") === d.group && i.kind === d.kind && (i.namespace || "") === d.namespace && i.name === d.name);
    if (!item) return set("manifest-status", "The API lists no manifests for this resource.");
    dialog.item = item;
    showNodeView(dialog, dialog.dataset.view || "live");
  } catch (err) {
    managed = null;
    set("manifest-status", "Manifests not available: " + err.message);
  }
}

function pretty(state) {
  if (!state || state === "null") return null;
  try {
    return JSON.stringify(JSON.parse(state), null, 2);
  } catch (err) {
    return state;
  }
}

function showNodeView(dialog, view) {
  dialog.dataset.view = view;
  for (const b of dialog.querySelectorAll("[data-node-view]")) b.setAttribute("aria-pressed", String(b.dataset.nodeView === view));
  const item = dialog.item;
  if (!item) return;
  const pre = dialog.querySelector('[data-f="manifest"]');
  const status = dialog.querySelector('[data-f="manifest-status"]');
  let text = null;
  if (view === "live") text = pretty(item.liveState);
  else if (view === "desired") text = pretty(item.targetState);
  else text = item.diff || null;
  const none = item.child ? "Not managed: created on the cluster by its owner, it has no desired state." : null;
  status.textContent = text ? "" : (view !== "live" && none) || { live: "Not present on the cluster.", desired: "Not in the desired state (git): it would be pruned.", diff: "No difference." }[view];
  if (view !== "diff" || !text) return (pre.textContent = text || "");
  pre.replaceChildren(
    ...text.split("\n").map((line) => {
      const span = document.createElement("span");
      span.className = line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : "";
      span.textContent = line;
      return span;
    })
  );
}

// -- the Rollouts page: actions through the resource actions API; the table is rendered again
// by the server after an action and when an app it lists changes (one fetch at a time).
// A live part of a page rendered again by the server (``url``, a ``?fragment=1`` page) and
// swapped into ``body``: one fetch at a time; calls meanwhile make one more fetch after it.
// A fragment the same as the last one swapped in is not swapped again (focus and choices stay),
// unless ``force`` (after an action, whose button the page disabled meanwhile).
function fragmentSwapper(body, url, after) {
  let inFlight = false;
  let again = false;
  let last = null;
  return async (force) => {
    if (force === true) last = null;
    if (inFlight) return void (again = true);
    inFlight = true;
    try {
      do {
        again = false;
        const resp = await fetch(url, { credentials: "same-origin" });
        if (resp.redirected && new URL(resp.url).pathname === "/login") return toLogin("expired");
        if (!resp.ok) return;
        const text = await resp.text();
        if (text === last) continue;
        last = text;
        const doc = new DOMParser().parseFromString(text, "text/html");
        const kept = after ? after.before() : null;
        body.replaceChildren(...doc.body.childNodes);
        if (after) after.swapped(kept);
      } while (again);
    } finally {
      inFlight = false;
    }
  };
}

function rolloutsPage(main) {
  const body = document.getElementById("rollouts-body");
  const rerender = fragmentSwapper(body, "/rollouts?fragment=1", { before: () => null, swapped: () => (listed = names()) });
  // The apps the table lists: a stream that reconnects replays every app, most not listed.
  const names = () => new Set([...body.querySelectorAll("tr[data-app]")].map((tr) => tr.dataset.app));
  let listed = names();
  const stream = "/api/v1/stream/applications";
  openStream(
    (first) => (first ? stream + "?resourceVersion=" + encodeURIComponent(main.dataset.resourceVersion) : stream),
    (result) => {
      if (listed.has(((result.application || {}).metadata || {}).name)) rerender();
    },
    rerender
  );
  body.addEventListener("click", async (ev) => {
    const b = ev.target.closest("button[data-rollout-action]");
    if (!b || b.disabled) return;
    const d = b.dataset;
    b.disabled = true;
    try {
      await api("POST", "/api/v1/applications/" + encodeURIComponent(d.app) + "/resource/actions/v2", {
        name: d.app, appNamespace: d.appNamespace, namespace: d.namespace, resourceName: d.name,
        group: "argoproj.io", kind: "Rollout", version: d.version, action: d.rolloutAction,
      });
      toast(b.textContent + " requested for " + d.name);
    } catch (err) {
      toast(String(err.message));
    }
    await rerender(true);
  });
}

// -- login, logout ---------------------------------------------------------------------------

function loginPage() {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const data = new FormData(form);
    const resp = await fetch("/api/v1/session", {
      method: "POST",
      headers: JSON_HEADERS,
      credentials: "same-origin",
      body: JSON.stringify({ username: data.get("username"), password: data.get("password") }),
    });
    if (resp.ok) return location.assign(form.dataset.next);
    const body = await resp.json().catch(() => ({}));
    error.textContent = body.message || "Login failed (" + resp.status + ")";
    error.hidden = false;
  });
}

// Keyboard: "/" jumps to the search box; arrow keys move between the application's views.
document.addEventListener("keydown", (ev) => {
  const typing = ev.target.closest && ev.target.closest("input, textarea, select, dialog");
  if (ev.key === "/" && !typing) {
    const search = document.getElementById("filter-search");
    if (search) {
      ev.preventDefault();
      search.focus();
    }
  }
  const tab = ev.target.closest && ev.target.closest('[role="tab"]');
  if (tab && (ev.key === "ArrowRight" || ev.key === "ArrowLeft")) {
    const tabs = [...document.querySelectorAll('[role="tab"]')];
    const next = tabs[(tabs.indexOf(tab) + (ev.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
    next.focus();
    next.click();
  }
});

// -- the promotion pipeline: live over the pipeline stream (one message per burst of changes of
// its Warehouses, Stages, Freight and Promotions), on which the server renders the pipeline
// again and it is swapped in; Promote / Approve post to the API, then the same. The forms are
// handled by delegation (they are replaced by each swap); a Freight chosen in a form stays
// chosen across a swap while it is still offered.
function pipelinePage(main) {
  const project = main.dataset.pipeline;
  const body = document.getElementById("pipeline-body");
  const page = "/promotions/" + encodeURIComponent(project);
  const formKey = (form) => form.dataset.action + "/" + form.dataset.stage;
  const chosen = () => {
    const focused = document.activeElement && document.activeElement.closest("form.stage-action");
    const values = new Map([...body.querySelectorAll("form.stage-action")].map((f) => [formKey(f), f.elements.freight.value]));
    return { values: values, focus: focused ? formKey(focused) + "/" + document.activeElement.tagName : "" };
  };
  const rerender = fragmentSwapper(body, page + "?fragment=1", {
    before: chosen,
    swapped: (kept) => {
      for (const form of body.querySelectorAll("form.stage-action")) {
        const value = kept.values.get(formKey(form));
        const select = form.elements.freight;
        if (value && [...select.options].some((o) => o.value === value)) select.value = value;
        for (const el of [select, form.querySelector("button")]) {
          if (kept.focus === formKey(form) + "/" + el.tagName && !el.disabled) el.focus();
        }
      }
    },
  });
  if (main.dataset.live !== undefined) {
    const stream = "/api/v1/promotion/projects/" + encodeURIComponent(project) + "/stream";
    openStream(() => stream, () => rerender(), rerender);
  }
  body.addEventListener("submit", async (ev) => {
    const form = ev.target.closest("form.stage-action");
    if (!form) return;
    ev.preventDefault();
    const verb = form.dataset.action;
    const stage = form.dataset.stage;
    const freight = form.elements.freight.value;
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const path = "/api/v1/promotion/projects/" + encodeURIComponent(project) +
        "/stages/" + encodeURIComponent(stage) + "/" + verb;
      const done = await api("POST", path, { freight: freight });
      toast(verb === "promote" ? "Promotion " + done.metadata.name + " created" : "Approved for " + stage);
    } catch (err) {
      toast(String(err.message));
      button.disabled = false;
    }
    await rerender(true);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  const main = document.getElementById("main");
  const page = document.body.dataset.page;
  if (page === "login") loginPage();
  else if (main.dataset.stream !== undefined) listPage(main);
  else if (main.dataset.app !== undefined) appPage(main);
  else if (main.dataset.rollouts !== undefined) rolloutsPage(main);
  else if (main.dataset.pipeline !== undefined) pipelinePage(main);
  const logout = document.querySelector('[data-action="logout"]');
  if (logout) {
    logout.addEventListener("click", async () => {
      await fetch("/api/v1/session", { method: "DELETE", headers: JSON_HEADERS, credentials: "same-origin" });
      location.assign("/login?reason=logout");
    });
  }
});
