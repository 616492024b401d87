// The tablet's live connection to a session room (docs/protocol.md).
//
// - One WebSocket, reconnected with exponential backoff and jitter; on reconnect it resumes with
//   ?after_seq=<last applied seq>, so nothing is missed and nothing is applied twice.
// - A visible connection state: "online", "reconnecting", "offline".
// - An outbox in localStorage: every write (comment, request to speak, position…) is stored with its
//   Idempotency-Key before it is sent, and re-sent after a failure or a reload until the server has
//   answered. The server applies a key once, so a write is applied exactly once.

import { applyEvent, SeqTracker } from "./state.js";

const PING_MS = 20000;
const MAX_BACKOFF_MS = 15000;

function csrfToken() {
  const match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

export class Outbox {
  constructor(storageKey, onResult) {
    this.storageKey = storageKey;
    this.onResult = onResult;
    this.sending = false;
  }

  items() {
    try { return JSON.parse(localStorage.getItem(this.storageKey) || "[]"); } catch { return []; }
  }

  save(items) { localStorage.setItem(this.storageKey, JSON.stringify(items)); }

  // Store first, then try to send: a write survives a dead network, a crash or a reload.
  post(url, body, label) {
    const entry = { key: newKey(), url, body, label: label || "", created: new Date().toISOString() };
    this.save([...this.items(), entry]);
    this.flush();
    return entry.key;
  }

  pending() { return this.items().length; }

  async flush() {
    if (this.sending) return;
    this.sending = true;
    try {
      for (const entry of this.items()) {
        let response;
        try {
          response = await fetch(entry.url, {
            method: "POST",
            credentials: "same-origin",
            headers: { "Content-Type": "application/json", "Idempotency-Key": entry.key, "X-CSRFToken": csrfToken() },
            body: JSON.stringify(entry.body),
          });
        } catch {
          break; // offline: keep this and the rest, in order, for the next flush
        }
        if (response.status >= 500 || response.status === 429) break;
        let payload = null;
        try { payload = await response.json(); } catch { payload = null; }
        // 2xx: applied (or replayed). 4xx: refused for good; say why and drop it.
        this.save(this.items().filter((item) => item.key !== entry.key));
        if (this.onResult) this.onResult(entry, response.status, payload);
      }
    } finally {
      this.sending = false;
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
    this.pingTimer = null;
    this.closedByUs = false;
    this.forbidden = false;
    window.addEventListener("online", () => this.reconnectSoon(0));
    window.addEventListener("offline", () => this.setConnection("offline"));
  }

  url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const after = this.tracker ? `?after_seq=${this.tracker.seq}` : "";
    return `${scheme}://${location.host}/ws/meetings/${this.meetingId}/${after}`;
  }

  setConnection(state) { this.connection = state; this.onConnection(state); }

  connect() {
    if (this.forbidden) return;
    this.setConnection(this.attempt === 0 && !this.state ? "connecting" : "reconnecting");
    const socket = new WebSocket(this.url());
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.setConnection("online");
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ type: "ping" }), PING_MS);
    };
    socket.onmessage = (message) => this.handle(JSON.parse(message.data));
    socket.onclose = (event) => {
      clearInterval(this.pingTimer);
      if (this.socket !== socket) return;
      if (event.code === 4403) {
        this.forbidden = true;
        this.setConnection("offline");
        this.onError({ code: "forbidden", detail: "access" });
        return;
      }
      if (!this.closedByUs) this.reconnectSoon();
    };
  }

  reconnectSoon(delay) {
    if (this.forbidden) return;
    if (this.socket && this.socket.readyState === WebSocket.OPEN) return;
    this.setConnection(navigator.onLine === false ? "offline" : "reconnecting");
    const backoff = delay ?? Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt += 1;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), backoff);
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  handle(message) {
    if (message.type === "snapshot") {
      this.state = message.meeting;
      this.tracker = new SeqTracker(message.seq);
      this.onState(this.state, null);
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

  apply(events) {
    for (const event of events) {
      applyEvent(this.state, event);
      this.onState(this.state, event);
    }
  }
}
