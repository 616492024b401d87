// Offline sessions on the tablet and remote wipe (issue 17, docs/offline.md). Loaded as a module by every
// page (templates/base.html) and by the offline page.
//
// - Registers the service worker (/sw.js, scope "/"), which stores the app shell only.
// - "Keep this session on the tablet" (#offline-keep on the session page and in the room): asks
//   /api/v1/offline/ and stores every URL it lists for the session (its pages, each document's copy, its
//   annotations when the server has them) in one Cache Storage cache per person and session,
//   "ecabinet-session-<user>-<meeting>"; shows progress and the stored size; "Remove from this tablet".
// - Remote wipe, at every contact (a page loaded online, the room socket's connect): whatever the tablet
//   holds that /api/v1/offline/ does not list as allowed is deleted, and every cache of another person;
//   a 401/403 answer (device revoked, session ended, signed out) deletes every kept session. Signed out
//   (the login page) deletes them too. The room's socket refused or closed with 4401/4403, or its
//   snapshot saying me.offline.allowed = false, deletes that session (or all, for 4401).
// - Logout: sends the writes still waiting in this person's outboxes, deletes every kept session, then
//   logs out (the server's answer also carries Clear-Site-Data: "cache", "storage").
//
// The outboxes (localStorage "ecabinet.outbox.<meeting>.<person>", static/room/live.js) are NOT deleted
// by a wipe on 401/403: they hold writes not yet sent, which the same person sends when they sign in
// again on this tablet; their key names the person, so nobody else ever sends them. Logging out clears
// them (Clear-Site-Data), after trying to send them.

import { Outbox } from "../room/live.js";

const SESSION_PREFIX = "ecabinet-session-";
const META_CACHE = "ecabinet-meta";
const ME_KEY = "/__ecabinet/me"; // who is signed in: the service worker serves only their kept sessions
const KEPT_KEY = "/__ecabinet/kept"; // in each session cache: what was stored, when, and its size
const LISTING_URL = "/api/v1/offline/";
const OUTBOX = /^ecabinet\.outbox\.\d+\.(.+)$/;
const FLUSH_MS = 5000;

const meTag = document.querySelector('meta[name="ecabinet-user"]');
const me = meTag ? meTag.content : ""; // "" when nobody is signed in
const username = meTag ? meTag.dataset.login : ""; // the outboxes of the room are named by it
const supported = Boolean(window.isSecureContext && "caches" in window);
const lang = document.documentElement.lang || "vi";

export const cacheName = (user, meeting) => `${SESSION_PREFIX}${user}-${meeting}`;

function parseName(name) {
  const match = /^ecabinet-session-(\d+)-(\d+)$/.exec(name);
  return match ? { user: match[1], meeting: match[2] } : null;
}

async function sessionCaches() {
  return (await caches.keys()).filter((name) => name.startsWith(SESSION_PREFIX));
}

function announce(type, detail) {
  document.dispatchEvent(new CustomEvent(`ecabinet:offline-${type}`, { detail }));
}

// One change to the stored sessions at a time (two tabs, the page load and the room's connect).
function exclusive(task) {
  if (navigator.locks) return navigator.locks.request("ecabinet-offline", task);
  return task();
}

// --- wiping ---------------------------------------------------------------------------------------------

export async function wipeAll(reason) {
  if (!supported) return;
  for (const name of await sessionCaches()) await caches.delete(name);
  await caches.delete(META_CACHE);
  announce("wiped", { reason });
  showState();
}

async function wipeSession(meeting, reason) {
  if (!supported || !me) return;
  if (await caches.delete(cacheName(me, meeting))) announce("wiped", { reason, meeting: Number(meeting) });
  showState();
}

// --- the listing ----------------------------------------------------------------------------------------

async function askListing() {
  let response;
  try {
    response = await fetch(LISTING_URL, { credentials: "same-origin", cache: "no-store",
                                          headers: { Accept: "application/json" } });
  } catch {
    return { status: 0, data: null }; // no network: keep everything
  }
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  return { status: response.status, data };
}

const sessionUrls = (session) => [
  ...session.pages,
  ...session.documents.flatMap((doc) => [doc.reader_url, doc.annotations_url, doc.comments_url].filter(Boolean)),
];

function sameUrl(url) { const u = new URL(url, location.origin); return u.pathname + u.search; }

async function readKept(cache) {
  const answer = await cache.match(KEPT_KEY);
  if (!answer) return null;
  try { return await answer.json(); } catch { return null; }
}

async function rememberMe() {
  const meta = await caches.open(META_CACHE);
  await meta.put(ME_KEY, new Response(JSON.stringify({ user: Number(me) }), { headers: { "Content-Type": "application/json" } }));
}

// A contact: ask what may be kept, delete the rest. Returns the listing (null when there was none).
export async function contact(why) {
  if (!supported) return null;
  return exclusive(async () => {
    if (!me) {
      if ((await sessionCaches()).length || (await caches.has(META_CACHE))) await wipeAll("signed_out");
      return null;
    }
    const { status, data } = await askListing();
    if (status === 401 || status === 403) { await wipeAll(`refused_${status}`); return null; }
    if (status !== 200 || !data) return null;
    if (String(data.user) !== me) { await wipeAll("other_person"); return null; }
    const allowed = new Map(data.sessions.filter((s) => s.allowed).map((s) => [String(s.id), s]));
    for (const name of await sessionCaches()) {
      const parsed = parseName(name);
      if (!parsed || parsed.user !== me || !allowed.has(parsed.meeting)) {
        await caches.delete(name);
        announce("wiped", { reason: parsed && parsed.user === me ? "not_listed" : "other_person",
                            meeting: parsed ? Number(parsed.meeting) : null });
        continue;
      }
      await refresh(name, allowed.get(parsed.meeting));
    }
    if ((await sessionCaches()).length) await rememberMe();
    if (box && !allowed.has(meetingId)) {
      // This page's session may no longer be kept: say why, and offer nothing.
      const entry = data.sessions.find((s) => String(s.id) === meetingId);
      box.dataset.allowed = "false";
      say(entry && entry.reason_text ? entry.reason_text : box.dataset.msgGone, "error");
    }
    announce("contact", { why, sessions: data.sessions.length });
    showState();
    return data;
  });
}

// A kept session still allowed: delete what is no longer listed (a document withdrawn, a restricted one
// no longer allowed), and store again what changed (a new version) or is missing.
async function refresh(name, session) {
  const cache = await caches.open(name);
  const listed = new Set(sessionUrls(session).map(sameUrl));
  for (const request of await cache.keys()) {
    const url = sameUrl(request.url);
    if (url !== KEPT_KEY && !listed.has(url)) await cache.delete(request);
  }
  await store(session, cache, null);
}

// --- keeping --------------------------------------------------------------------------------------------

// Stores what is missing or changed: a document's copy when its version changed (each copy is a
// numbered copy issued to the person: never fetched again for nothing); the pages and the annotations
// whenever anything changed, or always when the person asks (``force``: the "Keep" button).
// ``progress(done, total)``.
async function store(session, cache, progress, force = false) {
  const previous = (await readKept(cache)) || { documents: {}, sizes: {}, absent: [] };
  const versions = previous.documents || {};
  const absent = new Set(previous.absent || []); // annotations the server did not have (404)
  const listedIds = session.documents.map((d) => String(d.id));
  const changed = force || Object.keys(versions).length !== listedIds.length
    || session.documents.some((d) => versions[d.id] !== d.version);
  const jobs = [];
  for (const url of session.pages) {
    if (changed || !(await cache.match(url))) jobs.push({ url });
  }
  for (const doc of session.documents) {
    const fresh = versions[doc.id] === doc.version;
    // (X-Ecabinet-Purpose: keep — a copy stored on the tablet is not a read receipt; reading it is.)
    if (!fresh || !(await cache.match(doc.reader_url))) jobs.push({ url: doc.reader_url, keep: true });
    // The annotations and the page comments are fetched again at every contact, changed or not: an
    // annotation or a comment withdrawn, narrowed or deleted by its author must not stay readable on
    // another person's tablet (they are small; the copies above are not fetched again).
    if (doc.annotations_url) jobs.push({ url: doc.annotations_url, optional: true });
    if (doc.comments_url && !jobs.some((job) => job.url === doc.comments_url)) {
      jobs.push({ url: doc.comments_url, optional: true });
    }
  }
  if (!jobs.length && previous.at) return { ...previous, failed: 0 };
  const sizes = { ...(previous.sizes || {}) };
  let done = 0;
  let failed = 0;
  let full = false;
  if (progress) progress(0, jobs.length);
  for (const job of jobs) {
    try {
      const response = await fetch(job.url, { credentials: "same-origin", cache: "no-store",
                                              headers: job.keep ? { "X-Ecabinet-Purpose": "keep" } : {} });
      if (response.ok && !response.redirected) {
        const length = Number(response.headers.get("Content-Length"));
        const copy = response.clone();
        await cache.put(job.url, response);
        sizes[sameUrl(job.url)] = length > 0 ? length : (await copy.blob()).size;
        absent.delete(sameUrl(job.url));
      } else {
        await cache.delete(job.url);
        delete sizes[sameUrl(job.url)];
        if (job.optional && response.status === 404) absent.add(sameUrl(job.url));
        else failed += 1;
      }
    } catch (error) {
      failed += 1;
      if (error && error.name === "QuotaExceededError") { full = true; break; }
    }
    done += 1;
    if (progress) progress(done, jobs.length);
  }
  const listed = new Set(sessionUrls(session).map(sameUrl));
  const kept = {
    meeting: session.id, title: session.title, at: new Date().toISOString(), failed,
    absent: [...absent].filter((url) => listed.has(url)),
    documents: Object.fromEntries(session.documents.map((d) => [d.id, d.version])),
    sizes: Object.fromEntries(Object.entries(sizes).filter(([url]) => listed.has(url))),
  };
  await cache.put(KEPT_KEY, new Response(JSON.stringify(kept), { headers: { "Content-Type": "application/json" } }));
  return { ...kept, full };
}

const totalSize = (kept) => Object.values(kept.sizes || {}).reduce((sum, n) => sum + n, 0);

function formatSize(bytes) {
  const units = [["GB", 1e9], ["MB", 1e6], ["kB", 1e3]];
  for (const [unit, size] of units) {
    if (bytes >= size) return `${new Intl.NumberFormat(lang, { maximumFractionDigits: 1 }).format(bytes / size)} ${unit}`;
  }
  return `${bytes} B`;
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (all, key) => (key in values ? String(values[key]) : all));
}

// --- the "Keep this session" control -----------------------------------------------------------------

const box = document.getElementById("offline-keep");
const keepButton = box && document.getElementById("offline-keep-button");
const removeButton = box && document.getElementById("offline-remove-button");
const progressBar = box && document.getElementById("offline-progress");
const statusLine = box && document.getElementById("offline-status");
const meetingId = box ? box.dataset.meeting : null;
let busy = false;

function say(text, kind) {
  if (!statusLine) return;
  statusLine.textContent = text || "";
  statusLine.dataset.kind = kind || "info";
}

async function showState() {
  if (!box || busy) return;
  if (!supported || !me) {
    keepButton.disabled = true;
    say(box.dataset.msgUnsupported, "error");
    return;
  }
  const name = cacheName(me, meetingId);
  const has = await caches.has(name);
  const kept = has ? await readKept(await caches.open(name)) : null;
  box.dataset.kept = kept ? "true" : "false";
  removeButton.hidden = !has;
  keepButton.disabled = box.dataset.allowed !== "true";
  if (kept) {
    const when = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" }).format(new Date(kept.at));
    const text = fill(box.dataset.msgKept, { documents: Object.keys(kept.documents || {}).length,
                                             size: formatSize(totalSize(kept)), when });
    say(navigator.onLine === false ? `${box.dataset.msgOffline} ${text}` : text, "ok");
  } else if (statusLine && statusLine.dataset.kind === "ok") {
    say("");
  }
}

async function keep() {
  busy = true;
  keepButton.disabled = true;
  progressBar.hidden = false;
  progressBar.value = 0;
  try {
    const { status, data } = await askListing();
    if (status === 401 || status === 403) { await wipeAll(`refused_${status}`); say(box.dataset.msgFailed, "error"); return; }
    if (status !== 200 || !data) { say(box.dataset.msgFailed, "error"); return; }
    const session = data.sessions.find((s) => String(s.id) === meetingId);
    if (!session || !session.allowed) {
      await wipeSession(meetingId, "not_allowed");
      box.dataset.allowed = "false";
      say(session ? session.reason_text : box.dataset.msgFailed, "error");
      return;
    }
    if (navigator.storage && navigator.storage.persist) {
      try { await navigator.storage.persist(); } catch { /* the browser may refuse; the copy is kept anyway */ }
    }
    const result = await exclusive(async () => {
      await rememberMe();
      return store(session, await caches.open(cacheName(me, meetingId)), (done, total) => {
        progressBar.max = Math.max(1, total);
        progressBar.value = done;
        say(fill(box.dataset.msgStoring, { done, total }), "info");
      }, true);
    });
    busy = false;
    await showState();
    if (result.full) {
      let free = "?";
      if (navigator.storage && navigator.storage.estimate) {
        const { quota, usage } = await navigator.storage.estimate();
        free = formatSize(Math.max(0, quota - usage));
      }
      say(fill(box.dataset.msgSpace, { need: formatSize(totalSize(result)), free }), "error");
    } else if (result.failed) {
      say(fill(box.dataset.msgPartial, { failed: result.failed, total: sessionUrls(session).length }), "error");
    }
    announce("kept", { meeting: Number(meetingId), failed: result.failed });
  } finally {
    busy = false;
    progressBar.hidden = true;
    keepButton.disabled = box.dataset.allowed !== "true";
  }
}

if (box) {
  keepButton.addEventListener("click", () => { if (!busy) keep(); });
  removeButton.addEventListener("click", async () => {
    await wipeSession(meetingId, "removed");
    say(box.dataset.msgRemoved, "info");
  });
}

async function holding() {
  return (await sessionCaches()).length > 0 || (await caches.has(META_CACHE));
}

// Nothing kept and nobody to wipe: no need to ask.
async function contactIfHolding(why) {
  if (await holding()) await contact(why);
  await showState();
}

// --- the room: its snapshot and its socket's refusals are contacts too ---------------------------------

window.addEventListener("ecabinet:room", (event) => {
  const { type, meeting, offline, code } = event.detail || {};
  if (!supported) return;
  if (type === "snapshot") {
    if (offline && offline.allowed === false) {
      box && (box.dataset.allowed = "false");
      wipeSession(meeting, "room_not_allowed");
    }
    contactIfHolding("room");
  } else if (type === "closed" && code === 4401) {
    wipeAll("room_4401");
  } else if (type === "closed" && code === 4403) {
    wipeSession(meeting, "room_4403").then(() => contactIfHolding("room_4403"));
  } else if (type === "closed" && code === 1006 && navigator.onLine !== false && Date.now() - lastRefusedCheck > 60000) {
    // A connect refused before it was accepted reaches the browser as 1006: ask whether it still may be kept.
    lastRefusedCheck = Date.now();
    contactIfHolding("room_refused");
  }
});
let lastRefusedCheck = 0;

// --- logout: send what waits, delete what is kept, then log out ---------------------------------------

async function flushOutboxes() {
  const mine = [];
  for (let i = 0; i < localStorage.length; i += 1) {
    const key = localStorage.key(i);
    const match = key && OUTBOX.exec(key);
    if (match && match[1] === username) mine.push(key); // (never by id: a username may be all digits)
  }
  const boxes = mine.map((key) => new Outbox(key, null));
  const waiting = boxes.filter((outbox) => outbox.pending() > 0);
  if (waiting.length) {
    await Promise.race([Promise.all(waiting.map((outbox) => outbox.flush())),
                        new Promise((resolve) => { setTimeout(resolve, FLUSH_MS); })]);
  }
  return boxes.reduce((sum, outbox) => sum + outbox.pending(), 0);
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  const marked = form.querySelector && form.querySelector("[data-offline-logout]");
  if (!marked || form.dataset.cleared === "true") return;
  event.preventDefault();
  try {
    const pending = await flushOutboxes();
    if (pending && !window.confirm(fill(marked.dataset.msgPending || "", { n: pending }))) return;
    if (supported) await wipeAll("logout");
  } catch { /* the server's Clear-Site-Data still clears everything */ }
  form.dataset.cleared = "true";
  form.submit();
});

// --- the offline page: the sessions kept on this tablet -------------------------------------------------

async function listKept() {
  const list = document.getElementById("offline-kept-list");
  if (!list || !supported) return;
  const meta = await caches.open(META_CACHE);
  const answer = await meta.match(ME_KEY);
  const who = answer ? String((await answer.json()).user) : "";
  if (!who) return;
  for (const name of await sessionCaches()) {
    const parsed = parseName(name);
    if (!parsed || parsed.user !== who) continue;
    const kept = await readKept(await caches.open(name));
    if (!kept) continue;
    const link = document.createElement("a");
    link.href = `/meetings/${parsed.meeting}/`;
    link.textContent = kept.title || `#${parsed.meeting}`;
    const item = document.createElement("li");
    item.append(link);
    list.append(item);
  }
  list.hidden = !list.children.length;
}

// --- start ---------------------------------------------------------------------------------------------

if (supported && "serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => { /* offline reading unavailable */ });
}
window.ecabinetOffline = { contact, wipeAll, cacheName, ready: null };
if (document.querySelector("[data-offline-page]")) {
  window.ecabinetOffline.ready = listKept();
} else if (supported) {
  // A page loaded online is a contact; a page served from the tablet's store (no network) gets no answer
  // and keeps everything.
  window.ecabinetOffline.ready = contactIfHolding("page");
} else {
  window.ecabinetOffline.ready = showState();
}
