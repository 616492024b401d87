// e-Cabinet's service worker (issue 17, docs/offline.md), served at /sw.js by ecabinet.pwa with scope "/".
//
// What it stores on its own: the app shell (style sheet, fonts, scripts, images, the PDF reader's
// vendor files when present) and the offline page, at install. Nothing else: a session's pages, copies
// and annotations are stored only by the page's "Keep this session on the tablet" (static/js/offline.js),
// in one cache per person and session ("ecabinet-session-<user>-<meeting>"). It never puts an API
// answer or a document in a cache.
//
// What it answers: static files from the shell (then the network); a page (navigation) from the network
// first, and only when the network fails from the kept copies of the person signed in on this tablet,
// else the offline page; any other GET that a kept session holds (a document's copy, its annotations,
// its item's comments)
// from the network first, then from the kept copy. Everything else is not touched.
"use strict";

const VERSION = "{{ version }}";
const SHELL = {{ shell_json|safe }};
const OFFLINE_URL = "{{ offline_url }}";
const SHELL_CACHE = `ecabinet-shell-${VERSION}`;
const SESSION_PREFIX = "ecabinet-session-";
// offline.js writes who is signed in here (user id); the worker serves only that person's kept sessions.
const META_CACHE = "ecabinet-meta";
const ME_KEY = "/__ecabinet/me";
const NEVER = new Set(["/sw.js", "/api/v1/offline/", "/logout/"]);

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL_CACHE);
    await cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" })));
    // The offline page names nobody: fetched without cookies.
    const page = await fetch(new Request(OFFLINE_URL, { credentials: "omit", cache: "reload" }));
    if (page.ok) await cache.put(OFFLINE_URL, page);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("ecabinet-shell-") && name !== SHELL_CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

async function signedIn() {
  const meta = await caches.open(META_CACHE);
  const answer = await meta.match(ME_KEY);
  if (!answer) return null;
  try { return String((await answer.json()).user || "") || null; } catch { return null; }
}

// The kept copy of this request in the signed-in person's session caches, or null.
async function kept(request) {
  const me = await signedIn();
  if (!me) return null;
  const prefix = `${SESSION_PREFIX}${me}-`;
  for (const name of await caches.keys()) {
    if (!name.startsWith(prefix)) continue;
    const cache = await caches.open(name);
    const hit = await cache.match(request);
    if (hit) return hit;
  }
  return null;
}

// A kept file answers a Range request (PDF.js reads page by page) with the part asked for.
async function serve(copy, request) {
  const range = request.headers.get("range");
  const match = range && /^bytes=(\d*)-(\d*)$/.exec(range.trim());
  if (!match || copy.status !== 200 || (match[1] === "" && match[2] === "")) return copy;
  const blob = await copy.blob();
  const size = blob.size;
  let start;
  let end;
  if (match[1] === "") {
    start = Math.max(0, size - Number(match[2]));
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start >= size || start > end) {
    return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${size}` } });
  }
  const headers = new Headers(copy.headers);
  headers.set("Content-Range", `bytes ${start}-${end}/${size}`);
  headers.set("Content-Length", String(end - start + 1));
  return new Response(blob.slice(start, end + 1), { status: 206, statusText: "Partial Content", headers });
}

async function fromShell(request) {
  const hit = await caches.match(request, { cacheName: SHELL_CACHE });
  return hit || fetch(request);
}

async function page(request) {
  try {
    return await fetch(request);
  } catch (error) {
    const copy = await kept(request);
    if (copy) return copy;
    const offline = await caches.match(OFFLINE_URL, { cacheName: SHELL_CACHE });
    if (offline) return offline;
    throw error;
  }
}

async function networkThenKept(request, copy) {
  try {
    return await fetch(request);
  } catch (error) {
    return serve(copy, request);
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || NEVER.has(url.pathname)) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(fromShell(request));
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(page(request));
    return;
  }
  if (url.pathname.startsWith("/documents/") || url.pathname.startsWith("/api/v1/documents/")
      || url.pathname.startsWith("/api/v1/agenda-items/")) {
    // Only what a kept session holds is answered here; the rest goes to the network untouched.
    event.respondWith(kept(request).then((copy) => (copy ? networkThenKept(request, copy) : fetch(request))));
  }
});
