// The live session room screen: renders the room state and sends writes through the outbox.
// Strings go through Django's JavaScript catalogue (gettext), so the room speaks Vietnamese first.

import { Outbox, Room } from "./live.js";

const t = (s) => (window.gettext ? window.gettext(s) : s);
const root = document.getElementById("room");
const meetingId = Number(root.dataset.meetingId);
const me = root.dataset.username;
let state = null;
let selected = null; // the agenda item shown in the detail panel
let follow = true; // follow the chair's "now discussing" until the reader picks an item

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "className") node.className = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const flash = document.getElementById("room-flash");
function say(text, kind = "info") {
  flash.textContent = text;
  flash.dataset.kind = kind;
  flash.hidden = !text;
}

const outbox = new Outbox(`ecabinet.outbox.${meetingId}.${me}`, (entry, status, payload) => {
  if (status >= 400) say(payload && payload.detail ? payload.detail : t("The change was refused."), "error");
  renderPending();
});

function post(path, body, label) {
  outbox.post(`/api/v1/${path}`, body || {}, label);
  renderPending();
}

function renderPending() {
  const pending = outbox.pending();
  const badge = document.getElementById("room-pending");
  badge.hidden = pending === 0;
  badge.textContent = pending === 1 ? t("1 change waiting to be sent") : `${pending} ${t("changes waiting to be sent")}`;
}

const CONNECTION_TEXT = {
  connecting: () => t("Connecting…"),
  online: () => t("Online"),
  reconnecting: () => t("Reconnecting…"),
  offline: () => t("Offline — your changes are kept and sent when the connection returns"),
};

function setConnection(value) {
  const badge = document.getElementById("room-connection");
  badge.dataset.state = value;
  badge.textContent = (CONNECTION_TEXT[value] || (() => value))();
  if (value === "online") outbox.flush();
}

const role = () => (state && state.me ? state.me.role : null);
const runs = () => ["chair", "secretary"].includes(role());
const STATUS = () => ({
  pending: t("Pending"), discussing: t("Under discussion"), decided: t("Decided"),
  deferred: t("Deferred"), withdrawn: t("Withdrawn"),
});
const POSITIONS = () => ({ no_objection: t("No objection"), wish_to_speak: t("Wish to speak"), object: t("Object") });
const VISIBILITY = () => ({ shared: t("Shared"), secretariat: t("To the secretariat"), private: t("Private note") });

function elapsed(since) {
  const seconds = Math.max(0, Math.floor((Date.now() - new Date(since).getTime()) / 1000));
  return `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
}

function renderAgenda() {
  const list = document.getElementById("room-agenda");
  list.replaceChildren(...state.agenda.map((item) => el("li", {
    className: `room-item${item.id === state.current_item ? " is-current" : ""}${item.id === selected ? " is-selected" : ""}`,
    "data-item-id": item.id,
  },
  el("button", { type: "button", className: "room-item-button", onclick: () => { selected = item.id; follow = false; render(); } },
    el("span", { className: "room-item-position" }, item.position),
    el("span", { className: "room-item-title" }, item.title),
    el("span", { className: `badge badge-${item.status}` }, STATUS()[item.status] || item.status),
    item.id === state.current_item ? el("span", { className: "badge badge-now" }, t("Now discussing")) : null),
  )));
}

function renderDetail() {
  const panel = document.getElementById("room-detail");
  const item = state.agenda.find((i) => i.id === selected);
  if (!item) { panel.replaceChildren(el("p", { className: "muted" }, t("Choose an agenda item."))); return; }
  const key = String(item.id);
  const queue = state.speakers[key] || [];
  const mine = queue.find((r) => r.username === me && ["waiting", "speaking"].includes(r.status));
  const speaking = queue.find((r) => r.status === "speaking");
  const waiting = queue.filter((r) => r.status === "waiting");
  const comments = state.comments.filter((c) => c.agenda_item === item.id);
  const myPosition = (state.positions[key] || {})[me];
  const canPosition = ["chair", "member", "substitute"].includes(role());
  const canSpeak = ["chair", "member", "substitute", "observer"].includes(role());

  const chairControls = runs() && state.status === "in_progress" ? el("div", { className: "room-chair" },
    el("button", { type: "button", className: "button", onclick: () => post(`meetings/${meetingId}/current-item/`, { item: item.id }) },
      t("Discuss this item now")),
    waiting.length ? el("button", { type: "button", className: "button button-primary", "data-action": "give-floor",
      onclick: () => post(`agenda-items/${item.id}/floor/`, {}) }, t("Give the floor to the next speaker")) : null,
    speaking ? el("button", { type: "button", className: "button", onclick: () => post(`agenda-items/${item.id}/floor/end/`, {}) },
      t("End the turn")) : null) : null;

  panel.replaceChildren(
    el("h2", {}, `${item.position}. ${item.title}`),
    item.presenter_ministry ? el("p", { className: "muted" }, item.presenter_ministry) : null,
    el("ul", { className: "room-documents" }, item.documents.map((doc) => el("li", {},
      el("a", { className: "document-link", href: `/documents/${doc.id}/` }, doc.title),
      el("span", { className: "muted" }, ` · v${doc.version}`)))),
    chairControls,
    el("section", { className: "room-speakers", "aria-live": "polite" },
      el("h3", {}, t("Speakers")),
      speaking ? el("p", { className: "room-speaking" }, `${t("Speaking")}: ${speaking.full_name} `,
        el("span", { className: "room-timer", "data-since": speaking.floor_at }, elapsed(speaking.floor_at))) : null,
      waiting.length ? el("ol", { id: "room-queue" }, waiting.map((r) => el("li", { "data-username": r.username }, r.full_name)))
        : el("p", { className: "muted" }, t("Nobody is waiting to speak.")),
      canSpeak && ["published", "in_progress"].includes(state.status) ? (mine && mine.status === "waiting"
        ? el("button", { type: "button", className: "button", onclick: () => post(`agenda-items/${item.id}/speakers/withdraw/`, {}) }, t("Withdraw my request"))
        : !mine ? el("button", { type: "button", className: "button button-primary", "data-action": "ask-to-speak",
          onclick: () => post(`agenda-items/${item.id}/speakers/`, {}) }, t("Ask to speak")) : null) : null),
    canPosition && ["published", "in_progress"].includes(state.status) && ["pending", "discussing"].includes(item.status)
      ? el("section", { className: "room-position" }, el("h3", {}, t("My position")),
        el("div", { className: "segmented", role: "group" }, Object.entries(POSITIONS()).map(([value, label]) => el("button", {
          type: "button", className: `button${myPosition && myPosition.value === value ? " is-active" : ""}`,
          "aria-pressed": myPosition && myPosition.value === value ? "true" : "false",
          onclick: () => post(`agenda-items/${item.id}/position/`, { value }),
        }, label)))) : null,
    el("section", { className: "room-comments" },
      el("h3", {}, t("Comments")),
      el("ol", { id: "room-comment-list" }, comments.map((c) => el("li", {
        className: `comment comment-${c.visibility}${c.deleted ? " is-deleted" : ""}`, "data-comment-id": c.id,
      }, el("div", { className: "comment-head" }, el("strong", {}, c.author_name), " ",
        el("span", { className: "badge" }, VISIBILITY()[c.visibility]), c.edited_at ? el("span", { className: "muted" }, ` · ${t("edited")}`) : null),
      el("p", { className: "comment-text" }, c.deleted ? t("(comment deleted)") : c.text),
      c.author === me && !c.deleted && state.status !== "closed" ? el("button", {
        type: "button", className: "link-button", onclick: () => post(`comments/${c.id}/delete/`, {}),
      }, t("Delete")) : null))),
      state.status !== "closed" && state.status !== "draft" ? commentForm(item) : null),
  );
}

function commentForm(item) {
  const text = el("textarea", { id: "room-comment-text", name: "text", rows: "3", maxlength: "10000", required: true,
    "aria-label": t("Your comment") });
  const visibility = el("select", { id: "room-comment-visibility", name: "visibility", "aria-label": t("Who sees it") },
    Object.entries(VISIBILITY()).filter(([value]) => role() !== "observer" || value === "private")
      .map(([value, label]) => el("option", { value }, label)));
  return el("form", { className: "room-comment-form", onsubmit: (event) => {
    event.preventDefault();
    const value = text.value.trim();
    if (!value) return;
    post(`agenda-items/${item.id}/comments/`, { text: value, visibility: visibility.value }, value.slice(0, 40));
    text.value = "";
  } }, text, el("div", { className: "room-comment-actions" }, visibility,
    el("button", { type: "submit", className: "button button-primary", id: "room-comment-send" }, t("Send"))));
}

function renderPresence() {
  const box = document.getElementById("room-presence");
  if (!state.presence) { box.hidden = true; return; }
  box.hidden = false;
  const online = new Set(state.presence);
  box.replaceChildren(el("h3", {}, `${t("Connected now")}: ${online.size}/${state.participants.length}`),
    el("ul", {}, state.participants.map((p) => el("li", { className: online.has(p.username) ? "is-online" : "is-offline",
      "data-username": p.username }, p.full_name))));
}

function render() {
  if (!state) return;
  if (follow && state.current_item) selected = state.current_item;
  if (!state.agenda.some((i) => i.id === selected)) selected = state.current_item || (state.agenda[0] && state.agenda[0].id);
  document.getElementById("room-status").textContent = ({
    draft: t("Draft"), published: t("Published"), in_progress: t("In progress"), adjourned: t("Adjourned"), closed: t("Closed"),
  })[state.status] || state.status;
  const focused = document.activeElement && document.activeElement.id;
  const draft = document.getElementById("room-comment-text");
  const draftText = draft ? draft.value : "";
  renderAgenda();
  renderDetail();
  renderPresence();
  const again = document.getElementById("room-comment-text");
  if (again && draftText) again.value = draftText;
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
}

setInterval(() => document.querySelectorAll(".room-timer").forEach((node) => { node.textContent = elapsed(node.dataset.since); }), 1000);

const room = new Room({
  meetingId,
  onState: (newState) => { state = newState; render(); },
  onConnection: setConnection,
  onError: (error) => say(error.code === "forbidden" ? t("You no longer have access to this session.") : error.detail, "error"),
});
window.ecabinetRoom = room; // for diagnostics and the browser tests
window.ecabinetOutbox = outbox;
renderPending();
room.connect();
setInterval(() => outbox.flush(), 5000);
