// The tablet's live connection to a session room (docs/protocol.md).
//
// - One WebSocket, reconnected with exponential backoff and jitter; on reconnect it resumes with
//   ?after_seq=<last applied seq>, so nothing is missed and nothing is applied twice.
// - A visible connection state: "connecting", "online", "reconnecting", "offline".
// - An outbox in localStorage: every write (comment, request to speak, position…) is stored with its
//   Idempotency-Key before it is sent, and re-sent after a failure or a reload until the server has
//   answered. The server applies a key once, so a write is applied exactly once.
//
// Reads come only from the socket, writes go only through the outbox (HTTP): the socket accepts
// nothing but "resume" and "ping".

import { applyEvent, SeqTracker } from "./state.js";

const PING_MS = 20000;
// A socket that has said nothing (not even "pong") for this long is dead even if the browser has not
// noticed: tablets that sleep or change access point leave half-open connections behind.
const SILENCE_MS = 2 * PING_MS + 5000;
const MAX_BACKOFF_MS = 15000;
const CLOSE_FORBIDDEN = 4403; // every other close (4408: this tablet stopped reading) reconnects and resumes
// Too many messages or connections from this account: reconnect after the reason's retry_after=N.
const CLOSE_RATE_LIMITED = 4429;
const CLOSE_SESSION_ENDED = 4401; // signed out, idle or expired: the page reloads into the login screen, which says why
// The account opened more sockets than allowed and this was the oldest: do not reconnect by itself
// (two devices would shut each other out in turn); a reload connects again.
const CLOSE_REPLACED = 4409;

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// Answers that say "not now" rather than "never": the entry stays, in order, for the next flush.
function retryLater(status, payload) {
  if (status >= 500 || status === 408 || status === 429) return true;
  if (status === 401) return true; // logged out: keep the write until the person logs in again
  // Django's CSRF check (a cookie rotated by a login in another tab) is not a refusal of the write.
  return status === 403 && Boolean(payload && /CSRF/i.test(String(payload.detail || "")));
}

export class Outbox {
  // onResult(entry, status, payload) after each answer; onChange() whenever the queue changes
  // (also when another tab of the same person changes it).
  constructor(storageKey, onResult, onChange) {
    this.storageKey = storageKey;
    this.onResult = onResult;
    this.onChange = onChange || (() => {});
    this.sending = false;
    this.again = false;
    this.blocked = null; // the last "not now" answer, for the screen
    window.addEventListener("storage", (event) => { if (event.key === this.storageKey) this.onChange(); });
  }

  items() {
    try { return JSON.parse(localStorage.getItem(this.storageKey) || "[]"); } catch { return []; }
  }

  save(items) { localStorage.setItem(this.storageKey, JSON.stringify(items)); this.onChange(); }

  // Store first, then try to send: a write survives a dead network, a crash or a reload.
  // ``meta`` is kept with the entry for the screen (e.g. to show a comment waiting to be sent).
  post(url, body, label, meta) {
    return this.send("POST", url, body, label, meta);
  }

  // Any write the API takes with an Idempotency-Key: POST, PATCH or DELETE (annotations use all three).
  send(method, url, body, label, meta) {
    const entry = { key: newKey(), method, url, body, label: label || "", meta: meta || null, created: new Date().toISOString() };
    this.save([...this.items(), entry]);
    this.flush();
    return entry.key;
  }

  // A write not sent yet can still be changed or withdrawn (an annotation edited or deleted offline
  // before its creation reached the server): returns false when it was sent meanwhile.
  amend(key, body) {
    const items = this.items();
    const entry = items.find((item) => item.key === key);
    if (!entry || this.inFlight === key) return false;
    entry.body = body;
    this.save(items);
    return true;
  }

  withdraw(key) {
    const items = this.items();
    if (this.inFlight === key || !items.some((item) => item.key === key)) return false;
    this.save(items.filter((item) => item.key !== key));
    return true;
  }

  pending() { return this.items().length; }

  async flush() {
    if (this.sending) { this.again = true; return; }
    this.sending = true;
    try {
      // Two tabs of one person share the queue: let one send at a time where the browser can say so
      // (the Idempotency-Key makes a double send harmless anyway).
      if (navigator.locks) await navigator.locks.request(this.storageKey, () => this.sendAll());
      else await this.sendAll();
    } finally {
      this.sending = false;
    }
    if (this.again) { this.again = false; this.flush(); }
  }

  async sendAll() {
    this.again = false;
    for (const entry of this.items()) {
      if (!this.items().some((item) => item.key === entry.key)) continue; // sent meanwhile by another tab
      let response;
      this.inFlight = entry.key;
      try {
        const method = entry.method || "POST"; // entries stored before PATCH/DELETE existed are POSTs
        response = await fetch(entry.url, {
          method,
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "Idempotency-Key": entry.key, "X-CSRFToken": csrfToken() },
          body: method === "DELETE" ? undefined : JSON.stringify(entry.body),
        });
      } catch {
        this.inFlight = null;
        return; // offline: keep this and the rest, in order, for the next flush
      }
      let payload = null;
      try { payload = await response.json(); } catch { payload = null; }
      this.inFlight = null; // (after the answer: an amend while it was on its way would be lost)
      if (retryLater(response.status, payload)) {
        this.blocked = { status: response.status, payload };
        if (response.status === 429) {
          // Too many writes of this kind for now (docs/limits.md): send again when the server says.
          const wait = Number(response.headers.get("Retry-After")) || 60;
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => this.flush(), wait * 1000);
        }
        if (this.onResult) this.onResult(entry, response.status, payload, { kept: true });
        return;
      }
      this.blocked = null;
      // 2xx: applied (or replayed). Other 4xx: refused for good; say why and drop it.
      this.save(this.items().filter((item) => item.key !== entry.key));
      if (this.onResult) this.onResult(entry, response.status, payload, { kept: false });
    }
  }
}

export class Room {
  constructor({ meetingId, onState, onConnection, onError }) {
    this.meetingId = meetingId;
    this.onState = onState || (() => {});
    this.onConnection = onConnection || (() => {});
    this.onError = onError || (() => {});
    this.state = null;
    this.tracker = null;
    this.attempt = 0;
    this.socket = null;
    this.connection = null;
    this.pingTimer = null;
    this.retryTimer = null;
    this.lastHeard = 0;
    this.closedByUs = false;
    this.forbidden = false;
    this.connects = 0; // sockets opened so far (diagnostics, browser tests)
    this.lastUrl = "";
    window.addEventListener("online", () => this.reconnectSoon(0));
    window.addEventListener("offline", () => this.dropSocket("offline"));
    window.addEventListener("pagehide", () => { this.closedByUs = true; if (this.socket) this.socket.close(); });
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) { this.closedByUs = false; this.reconnectSoon(0); } // back from the page cache
    });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible") this.checkAlive();
    });
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const after = this.tracker ? `?after_seq=${this.tracker.seq}` : "";
    return `${scheme}://${location.host}/ws/meetings/${this.meetingId}/${after}`;
  }

  setConnection(state) {
    if (state === this.connection) return;
    this.connection = state;
    this.onConnection(state);
  }

  isOpen() { return Boolean(this.socket && this.socket.readyState === WebSocket.OPEN); }

  connect() {
    if (this.forbidden || this.closedByUs) return;
    clearTimeout(this.retryTimer);
    if (navigator.onLine === false) {
      // No network at all: wait for the "online" event (and try now and then in case it never comes).
      this.setConnection("offline");
      this.retryTimer = setTimeout(() => this.connect(), MAX_BACKOFF_MS);
      return;
    }
    this.setConnection(this.attempt === 0 && !this.state ? "connecting" : "reconnecting");
    // The server answers ?after_seq=N with the missed events and "resumed" (or a fresh snapshot):
    // hold live events back until then, so they are applied after the replay, in order.
    if (this.tracker) this.tracker.resuming = true;
    this.lastUrl = this.url();
    const socket = new WebSocket(this.lastUrl);
    this.socket = socket;
    this.connects += 1;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.attempt = 0;
      this.lastHeard = Date.now();
      this.setConnection("online");
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.ping(), PING_MS);
    };
    socket.onmessage = (message) => {
      if (this.socket !== socket) return; // a socket we have given up on
      this.lastHeard = Date.now();
      let data;
      try { data = JSON.parse(message.data); } catch { return; }
      this.handle(data);
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      clearInterval(this.pingTimer);
      this.socket = null;
      this.tell("closed", { code: event.code });
      if (event.code === CLOSE_FORBIDDEN) {
        this.forbidden = true;
        this.setConnection("offline");
        this.onError({ code: "forbidden", detail: "access" });
        return;
      }
      if (event.code === CLOSE_SESSION_ENDED) {
        this.closedByUs = true;
        this.setConnection("offline");
        window.location.reload();
        return;
      }
      if (event.code === CLOSE_REPLACED) {
        this.closedByUs = true;
        this.setConnection("offline");
        this.onError({ code: "too_many_connections", detail: "replaced" });
        return;
      }
      if (event.code === CLOSE_RATE_LIMITED) {
        const wait = Number((/retry_after=(\d+)/.exec(event.reason || "") || [])[1] || 60);
        if (!this.closedByUs) this.reconnectSoon(wait * 1000);
        return;
      }
      if (!this.closedByUs) this.reconnectSoon();
    };
  }

  // Give up on the current socket at once (its close handshake may never finish) and reconnect.
  dropSocket(state) {
    const socket = this.socket;
    this.socket = null;
    clearInterval(this.pingTimer);
    if (socket) { try { socket.close(); } catch { /* already closing */ } }
    this.setConnection(state);
    this.reconnectSoon();
  }

  ping() {
    if (Date.now() - this.lastHeard > SILENCE_MS) { this.dropSocket("reconnecting"); return; }
    this.send({ type: "ping" });
  }

  checkAlive() {
    if (this.isOpen()) this.ping(); else this.reconnectSoon(0);
  }

  reconnectSoon(delay) {
    if (this.forbidden || this.closedByUs) return;
    if (this.isOpen()) { this.setConnection("online"); return; }
    if (this.socket && this.socket.readyState === WebSocket.CONNECTING) return; // already on its way
    this.setConnection(navigator.onLine === false ? "offline" : "reconnecting");
    const backoff = delay ?? Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), backoff);
  }

  send(message) {
    if (this.isOpen()) this.socket.send(JSON.stringify(message));
  }

  handle(message) {
    if (message.type === "snapshot.part") {
      // A snapshot too large for one frame comes in parts whose texts, joined, are the snapshot
      // message (docs/protocol.md §1).
      if (message.part === 1) this.parts = [];
      if (!this.parts || this.parts.length !== message.part - 1) { this.parts = null; return; }
      this.parts.push(message.text);
      if (message.part === message.parts) {
        const text = this.parts.join("");
        this.parts = null;
        let whole;
        try { whole = JSON.parse(text); } catch { return; }
        this.handle(whole);
      }
      return;
    }
    if (message.type === "snapshot") {
      this.state = message.meeting;
      this.tracker = new SeqTracker(message.seq);
      this.onState(this.state, null);
      this.tell("snapshot", { offline: (this.state.me || {}).offline || null });
    } else if (message.type === "event") {
      if (!this.tracker) return;
      const { apply, resume } = this.tracker.accept(message);
      this.apply(apply);
      if (resume) this.send({ type: "resume", after_seq: this.tracker.seq });
    } else if (message.type === "resumed") {
      if (!this.tracker) return;
      const { apply, resume } = this.tracker.resumed(message.seq);
      this.apply(apply);
      if (resume) this.send({ type: "resume", after_seq: this.tracker.seq });
    } else if (message.type === "error") {
      this.onError(message);
    }
  }

  // What the rest of the page may want to know of the socket (static/js/offline.js deletes a kept session
  // when the snapshot says it may no longer be kept, or the socket is closed with 4401/4403).
  tell(type, detail) {
    window.dispatchEvent(new CustomEvent("ecabinet:room", { detail: { type, meeting: this.meetingId, ...detail } }));
  }

  apply(events) {
    for (const event of events) {
      applyEvent(this.state, event);
      this.onState(this.state, event);
    }
  }
}
