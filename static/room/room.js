// The live session room screen (templates/meetings/room.html): draws the room state the socket keeps
// (live.js + state.js) and sends every write through the outbox (HTTP API with an Idempotency-Key),
// never through the socket.
//
// Strings go through Django's JavaScript catalogue (/jsi18n/, loaded before this module), so the room
// speaks Vietnamese first; `makemessages -d djangojs` finds them because they are written as
// gettext("…") and ngettext("…", "…", n).

import { Outbox, Room } from "./live.js";
import { el } from "../js/dom.js";

const gettext = window.gettext || ((text) => text);
const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
const interpolate = window.interpolate || ((format, args) => {
  let i = 0;
  return format.replace(/%s/g, () => String(args[i++]));
});

const API = "/api/v1/";
const WRITABLE = ["published", "in_progress", "adjourned"]; // comments (services.room.COMMENTING_STATES)
const QUEUE_OPEN = ["published", "in_progress"]; // speaking queue and positions
const OPEN_ITEM = ["pending", "discussing"];

const root = document.getElementById("room");
const meetingId = Number(root.dataset.meetingId);
const me = root.dataset.username;
const lang = document.documentElement.lang || "vi";
const byId = (id) => document.getElementById(id);

let state = null;
let selected = null; // the agenda item shown in the detail panel
let follow = true; // follow the chair's "now discussing" until the reader picks another item
let lastCurrent; // the "now discussing" item at the last drawing: when the chair moves it, everyone follows
const drafts = new Map(); // item id → { text, visibility }: a draft stays with the item it was written on
let draftItem = null; // the item the composer is showing now

// --- small DOM helpers -------------------------------------------------------------------------------

// Like replaceChildren, but skips null/false children (replaceChildren would write "null").
function fill(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

// ``name``: the accessible name when the visible label alone does not say enough (it starts with the
// label, so a voice-control user can still say what they see: WCAG 2.5.3).
function button(label, onclick, { className = "btn", key, disabled, pressed, action, name } = {}) {
  return el("button", {
    type: "button", className, onclick, disabled: Boolean(disabled), "data-key": key, "data-action": action,
    "aria-pressed": pressed === undefined ? null : String(pressed), "aria-label": name,
  }, label);
}

const clock = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
function timeOf(iso) { return iso ? clock.format(new Date(iso)) : ""; }

function elapsed(since) {
  const seconds = Math.max(0, Math.floor((Date.now() - new Date(since).getTime()) / 1000));
  return `${String(Math.floor(seconds / 60)).padStart(2, "0")}:${String(seconds % 60).padStart(2, "0")}`;
}

// --- messages ----------------------------------------------------------------------------------------

const flash = byId("room-flash");
let flashTimer = null;
function say(text, kind = "info") {
  clearTimeout(flashTimer);
  flash.textContent = text || "";
  flash.dataset.kind = kind;
  flash.hidden = !text;
  if (text && kind !== "error") flashTimer = setTimeout(() => { flash.hidden = true; }, 6000);
}
flash.addEventListener("click", () => { flash.hidden = true; });

// --- what a screen reader is told --------------------------------------------------------------------
// One polite sentence per significant change (the item discussed, a vote opened or closed, your turn
// to speak, the session's status), not every vote or comment: those are on the screen for who looks.

const announcer = byId("room-announce");
let heard = null; // what the last announcement was worked out from

function hearing(current) {
  const mine = Object.values(current.speakers || {}).flat().find((r) => r.username === me && r.status === "speaking");
  return {
    status: current.status,
    item: current.current_item,
    motions: new Map((current.motions || []).map((m) => [m.id, m.status])),
    speaking: Boolean(mine),
  };
}

function announce(text) {
  if (!announcer || !text) return;
  // Emptied first, so the same sentence twice in a row is read twice.
  announcer.textContent = "";
  setTimeout(() => { announcer.textContent = text; }, 50);
}

function announceChanges(current) {
  const now = hearing(current);
  const before = heard;
  heard = now;
  if (!before) return; // the first snapshot: the page itself says where things stand
  const said = [];
  if (now.status !== before.status) {
    said.push(interpolate(gettext("The session is now: %s."), [MEETING_STATUS()[now.status] || now.status]));
  }
  if (now.item !== before.item && now.item !== null) {
    const item = current.agenda.find((i) => i.id === now.item);
    if (item) said.push(interpolate(gettext("Now discussing item %s: %s."), [item.position, item.title]));
  }
  for (const motion of current.motions || []) {
    const was = before.motions.get(motion.id);
    if (motion.status === "open" && was !== "open") {
      said.push(interpolate(gettext("Vote opened: %s."), [motion.title]));
    } else if (motion.status === "closed" && was === "open") {
      const outcome = motion.result ? (motion.result.adopted ? gettext("Adopted") : gettext("Not adopted")) : "";
      said.push(interpolate(gettext("Vote closed: %s."), [motion.title]) + (outcome ? ` ${outcome}.` : ""));
    }
  }
  if (now.speaking && !before.speaking) said.push(gettext("You have the floor."));
  if (said.length) announce(said.join(" "));
}

// --- writes: only through the outbox -----------------------------------------------------------------

const outbox = new Outbox(`ecabinet.outbox.${meetingId}.${me}`, (entry, status, payload, { kept }) => {
  if (kept && status === 401) say(gettext("You are logged out. Log in again to send your changes."), "error");
  else if (kept && status === 429) say(payload && payload.detail ? payload.detail : gettext("Too many changes at once; they will be sent again shortly."), "error");
  else if (kept && status >= 500) say(gettext("The server could not record your change; it will be sent again."), "error");
  else if (!kept && status >= 400) say(payload && payload.detail ? payload.detail : gettext("The change was refused."), "error");
  if (!kept && entry.meta && entry.meta.kind === "vote") {
    // The receipt is in the first answer only: keep it on this tablet before anything else.
    if (status >= 200 && status < 300) {
      voteAnswered.add(entry.meta.item);
      if (payload && payload.receipt) { keepReceipt(entry.meta.item, payload.receipt); shownReceipts.set(entry.meta.item, payload.receipt); }
    } else {
      voteAnswered.delete(entry.meta.item);
    }
  }
}, () => { renderPending(); scheduleRender(); });

function post(path, body, label, meta) {
  outbox.post(`${API}${path}`, body || {}, label, meta);
}

function pendingWrites(kind, itemId) {
  return outbox.items().filter((entry) => entry.meta && entry.meta.kind === kind && entry.meta.item === itemId);
}

function renderPending() {
  const count = outbox.pending();
  const badge = byId("room-pending");
  badge.hidden = count === 0;
  badge.dataset.count = String(count);
  badge.textContent = interpolate(ngettext("%s change waiting to be sent", "%s changes waiting to be sent", count), [count]);
}

// --- connection --------------------------------------------------------------------------------------

const CONNECTION_TEXT = {
  connecting: () => gettext("Connecting…"),
  online: () => gettext("Online"),
  reconnecting: () => gettext("Reconnecting…"),
  offline: () => gettext("Offline — your changes are kept and sent when the connection returns"),
};

function setConnection(value) {
  const badge = byId("room-connection");
  badge.dataset.state = value;
  badge.textContent = (CONNECTION_TEXT[value] || (() => value))();
  root.dataset.connection = value;
  if (value === "online") outbox.flush();
}

// --- vocabulary --------------------------------------------------------------------------------------

// What the caller's role lets them do, as the server's policy says (the snapshot's ``me.can``,
// meetings.permissions.capabilities): the tablet never works it out from the role itself.
const can = () => (state && state.me && state.me.can) || {};
const runs = () => Boolean(can().run);
const MEETING_STATUS = () => ({
  draft: gettext("Draft"), published: gettext("Published"), in_progress: gettext("In progress"),
  adjourned: gettext("Adjourned"), closed: gettext("Closed"),
});
const ITEM_STATUS = () => ({
  pending: gettext("Pending"), discussing: gettext("Under discussion"), decided: gettext("Decided"),
  deferred: gettext("Deferred"), withdrawn: gettext("Withdrawn"),
});
const POSITIONS = () => ({
  no_objection: gettext("No objection"), wish_to_speak: gettext("Wish to speak"), object: gettext("Object"),
});
const VISIBILITY = () => ({
  shared: gettext("Shared with the session"), secretariat: gettext("To the secretariat"), private: gettext("Private note"),
});
const VISIBILITY_HELP = () => ({
  shared: gettext("Every participant of the session sees it."),
  secretariat: gettext("Only you and the secretariat see it."),
  private: gettext("A note for yourself: nobody else sees it."),
});

// "Now discussing" already says "under discussion": the status is shown only when it adds something.
function statusBadge(item, current) {
  if (current && item.status === "discussing") return null;
  return el("span", { className: `badge badge--item badge--item-${item.status}` }, ITEM_STATUS()[item.status] || item.status);
}

// --- the agenda ----------------------------------------------------------------------------------------

function pick(itemId) {
  selected = itemId;
  // Before the chair has taken up any item there is nothing to follow yet: reading ahead is fine.
  follow = state.current_item === null || itemId === state.current_item;
  render();
  byId("room-detail").scrollIntoView({ block: "nearest" });
}

function renderAgenda() {
  const list = byId("room-agenda");
  list.replaceChildren(...state.agenda.map((item) => {
    const current = item.id === state.current_item;
    const waiting = (state.speakers[String(item.id)] || []).filter((r) => r.status === "waiting").length;
    // The window's live comments plus those paged out of it (docs/protocol.md §5: comment_counts).
    const omitted = ((state.comment_counts || {})[String(item.id)] || {}).omitted || 0;
    const comments = state.comments.filter((c) => c.agenda_item === item.id && !c.deleted).length + omitted;
    return el("li", {
      className: `room-item${current ? " is-current" : ""}${item.id === selected ? " is-selected" : ""}`,
      "data-item-id": item.id, "aria-current": current ? "true" : null,
    }, el("button", {
      type: "button", className: "room-item__button", onclick: () => pick(item.id), "data-key": `item-${item.id}`,
      "aria-pressed": String(item.id === selected),
    },
    el("span", { className: "room-item__num", "aria-hidden": "true" }, item.position),
    el("span", { className: "room-item__body" },
      el("span", { className: "room-item__title" }, item.title),
      el("span", { className: "room-item__meta" },
        current ? el("span", { className: "badge badge--now" }, gettext("Now discussing")) : null,
        statusBadge(item, current),
        waiting ? el("span", { className: "chip chip--speak" },
          interpolate(ngettext("%s waiting to speak", "%s waiting to speak", waiting), [waiting])) : null,
        comments ? el("span", { className: "chip" },
          interpolate(ngettext("%s comment", "%s comments", comments), [comments])) : null))));
  }));
}

// --- the selected item ---------------------------------------------------------------------------------

function detailSections() {
  const panel = byId("room-detail");
  if (!byId("room-item-head")) {
    panel.replaceChildren(
      el("div", { id: "room-follow" }),
      el("div", { id: "room-item-head", className: "room-card" }),
      el("section", { id: "room-votes", className: "room-card", "aria-labelledby": "room-votes-title" },
        el("h3", { id: "room-votes-title" }, gettext("Votes")),
        el("ol", { id: "room-motion-list", className: "room-motions" }),
        motionForm()),
      el("section", { id: "room-speakers", className: "room-card", "aria-labelledby": "room-speakers-title" }),
      el("section", { id: "room-position", className: "room-card", "aria-labelledby": "room-position-title" }),
      el("section", { id: "room-comments", className: "room-card", "aria-labelledby": "room-comments-title" },
        el("h3", { id: "room-comments-title" }, gettext("Comments")),
        el("ol", { id: "room-comment-list", className: "room-comments" }),
        composer()),
    );
  }
}

function renderFollow(item) {
  const box = byId("room-follow");
  const current = state.agenda.find((i) => i.id === state.current_item);
  if (!current || current.id === item.id) { box.replaceChildren(); return; }
  box.replaceChildren(el("div", { className: "room-follow", role: "status" },
    el("span", {}, el("span", { className: "badge badge--now" }, gettext("Now discussing")), " ",
      `${current.position}. ${current.title}`),
    button(gettext("Go to the item now discussed"), () => { follow = true; selected = current.id; render(); },
      { className: "btn btn--small btn--primary", key: "follow", action: "follow" })));
}

function renderHead(item) {
  const current = item.id === state.current_item;
  const controls = [];
  if (runs() && state.status === "in_progress" && !current) {
    controls.push(button(gettext("Discuss this item now"),
      () => post(`meetings/${meetingId}/current-item/`, { item: item.id }, item.title),
      { className: "btn btn--primary", key: "discuss", action: "discuss" }));
  }
  if (runs() && QUEUE_OPEN.includes(state.status) && OPEN_ITEM.includes(item.status)) {
    controls.push(
      button(gettext("Mark as decided"), () => {
        if (window.confirm(gettext("Mark this item as decided?"))) post(`agenda-items/${item.id}/status/`, { status: "decided" }, item.title);
      }, { key: "decided", action: "decided" }),
      button(gettext("Defer"), () => {
        if (window.confirm(gettext("Defer this item?"))) post(`agenda-items/${item.id}/status/`, { status: "deferred" }, item.title);
      }, { key: "deferred", action: "deferred" }));
  }
  fill(byId("room-item-head"),
    el("div", { className: "room-item-head__badges" },
      current ? el("span", { className: "badge badge--now" }, gettext("Now discussing")) : null,
      statusBadge(item, current)),
    el("h2", { id: "room-item-title" }, `${item.position}. ${item.title}`),
    item.presenter_ministry || item.planned_minutes ? el("p", { className: "muted room-item-head__meta" },
      item.presenter_ministry ? `${gettext("Presented by")} ${item.presenter_ministry}` : null,
      item.presenter_ministry && item.planned_minutes ? " · " : null,
      item.planned_minutes ? interpolate(ngettext("%s minute", "%s minutes", item.planned_minutes), [item.planned_minutes])
        : null) : null,
    item.documents.length
      ? el("ul", { className: "doclist room-documents", "aria-label": gettext("Documents") }, item.documents.map((doc) => el("li", {},
        el("a", { className: "document-link", href: `/documents/${doc.id}/` },
          el("span", { className: "doc-icon", "aria-hidden": "true" }, "PDF"),
          el("span", { className: "doc-title" }, doc.title)),
        doc.version ? el("span", { className: "version" }, `v${doc.version}`) : null)))
      : el("p", { className: "muted" }, gettext("No documents for you on this item.")),
    controls.length ? el("div", { className: "btn-row room-controls" }, controls) : null,
  );
}

function renderSpeakers(item) {
  const queue = state.speakers[String(item.id)] || [];
  const speaking = queue.find((r) => r.status === "speaking");
  const waiting = queue.filter((r) => r.status === "waiting");
  const spoke = (state.speakers_spoken || {})[String(item.id)] || queue.filter((r) => r.status === "done").length;
  const mine = queue.find((r) => r.username === me && ["waiting", "speaking"].includes(r.status));
  const canSpeak = Boolean(can().speak) && QUEUE_OPEN.includes(state.status);
  const chairRuns = runs() && state.status === "in_progress";
  const sending = pendingWrites("speak", item.id).length > 0;

  let mineControl = null;
  if (sending) {
    mineControl = button(gettext("Sending your request…"), null, { disabled: true, key: "ask" });
  } else if (mine && mine.status === "speaking") {
    mineControl = el("p", { className: "room-you-speak" }, gettext("You have the floor."));
  } else if (mine) {
    mineControl = button(gettext("Withdraw my request"),
      () => post(`agenda-items/${item.id}/speakers/withdraw/`, {}, item.title, { kind: "speak", item: item.id }),
      { key: "withdraw", action: "withdraw" });
  } else if (canSpeak) {
    mineControl = button(gettext("Ask to speak"),
      () => post(`agenda-items/${item.id}/speakers/`, {}, item.title, { kind: "speak", item: item.id }),
      { className: "btn btn--primary", key: "ask", action: "ask-to-speak" });
  }

  fill(byId("room-speakers"),
    el("div", { className: "room-card__head" },
      el("h3", { id: "room-speakers-title" }, gettext("Speakers")),
      mineControl),
    speaking ? el("div", { className: "room-speaking", "data-username": speaking.username },
      el("span", { className: "room-speaking__label" }, gettext("Speaking")),
      el("strong", {}, speaking.full_name),
      el("span", { className: "room-timer", "data-since": speaking.floor_at, role: "timer",
        "aria-label": gettext("Time speaking") }, elapsed(speaking.floor_at)),
      chairRuns ? button(gettext("End the turn"), () => post(`agenda-items/${item.id}/floor/end/`, {}, item.title),
        { className: "btn btn--small", key: "end-turn", action: "end-turn" }) : null) : null,
    waiting.length
      ? el("ol", { id: "room-queue", className: "room-queue", "aria-live": "polite" }, waiting.map((r) => el("li", {
        "data-username": r.username, className: r.username === me ? "is-me" : null,
      }, el("span", { className: "room-queue__name" }, r.full_name),
      el("span", { className: "muted" }, timeOf(r.requested_at)),
      chairRuns ? button(gettext("Give the floor"), () => post(`agenda-items/${item.id}/floor/`, { username: r.username }, item.title),
        { className: "btn btn--small", key: `floor-${r.username}` }) : null)))
      : el("p", { className: "muted m-0", id: "room-queue-empty" }, gettext("Nobody is waiting to speak.")),
    chairRuns && waiting.length ? el("div", { className: "btn-row room-controls" },
      button(gettext("Give the floor to the next speaker"), () => post(`agenda-items/${item.id}/floor/`, {}, item.title),
        { className: "btn btn--primary", key: "give-floor", action: "give-floor" })) : null,
    spoke ? el("p", { className: "muted m-0 room-spoke" },
      interpolate(ngettext("%s person has spoken on this item.", "%s people have spoken on this item.", spoke), [spoke])) : null,
  );
}

function renderPosition(item) {
  const section = byId("room-position");
  const canPosition = Boolean(can().position) && QUEUE_OPEN.includes(state.status)
    && OPEN_ITEM.includes(item.status);
  const all = state.positions[String(item.id)] || {};
  const summary = Boolean(can().see_positions);
  if (!canPosition && !summary) { section.hidden = true; section.replaceChildren(); return; }
  section.hidden = false;
  const sending = pendingWrites("position", item.id);
  const mine = sending.length ? sending[sending.length - 1].meta.value : (all[me] || {}).value;
  const counts = { no_objection: 0, wish_to_speak: 0, object: 0 };
  for (const [username, position] of Object.entries(all)) if (username !== me || summary) counts[position.value] += 1;
  fill(section,
    el("h3", { id: "room-position-title" }, canPosition ? gettext("My position") : gettext("Positions")),
    canPosition ? el("div", { className: "segmented", role: "group", "aria-labelledby": "room-position-title" },
      Object.entries(POSITIONS()).map(([value, label]) => button(label,
        () => post(`agenda-items/${item.id}/position/`, { value }, item.title, { kind: "position", item: item.id, value }),
        { className: `btn segmented__button segmented__button--${value}${mine === value ? " is-active" : ""}`,
          key: `position-${value}`, pressed: mine === value, action: `position-${value}` }))) : null,
    sending.length ? el("p", { className: "muted m-0" }, gettext("Waiting to be sent…")) : null,
    summary ? el("p", { className: "room-position__summary m-0" },
      Object.entries(POSITIONS()).map(([value, label]) => el("span", { className: `tally tally--${value}` },
        `${label}: `, el("strong", {}, counts[value])))) : null,
  );
}

function documentTitle(item, docId) {
  const doc = item.documents.find((d) => d.id === docId);
  return doc ? doc.title : gettext("a document");
}

// Comments are paged (docs/protocol.md §5): the snapshot holds the newest few of each item and how
// many were left out; older ones come from GET agenda-items/{id}/comments/?before=. What this tablet
// has seen of an item since its last snapshot (the window, comments pushed out of it since, the pages
// it loaded) stays on screen; a new snapshot starts afresh.
const seenComments = new Map(); // item id → Map(comment id → comment)
const loadingEarlier = new Set();

function seenFor(itemId) {
  if (!seenComments.has(itemId)) seenComments.set(itemId, new Map());
  return seenComments.get(itemId);
}

function noteState(event) {
  if (!event) { seenComments.clear(); return; }
  const comment = event.data && event.data.comment;
  if (comment && seenFor(comment.agenda_item).has(comment.id)) seenFor(comment.agenda_item).set(comment.id, comment);
  if (event.kind === "document.withdrawn") {
    seenComments.forEach((seen) => seen.forEach((c, id) => { if (c.document === event.data.document) seen.delete(id); }));
  }
}

function loadEarlier(item, before) {
  if (loadingEarlier.has(item.id)) return;
  loadingEarlier.add(item.id);
  const query = before ? `?before=${before}` : "";
  fetch(`${API}agenda-items/${item.id}/comments/${query}`, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : Promise.reject(response)))
    .then((page) => { const seen = seenFor(item.id); page.results.forEach((c) => { if (!seen.has(c.id)) seen.set(c.id, c); }); })
    .catch(() => say(gettext("Earlier comments could not be loaded; try again."), "error"))
    .finally(() => { loadingEarlier.delete(item.id); scheduleRender(); });
}

function renderComments(item) {
  const seen = seenFor(item.id);
  state.comments.filter((c) => c.agenda_item === item.id).forEach((c) => seen.set(c.id, c));
  const comments = [...seen.values()].sort((a, b) => a.id - b.id);
  const counts = (state.comment_counts || {})[String(item.id)] || { total: 0, omitted: 0 };
  const hidden = Math.max(0, counts.total - comments.length);
  // Once the server's comment has arrived over the socket (usually just before the HTTP answer), the
  // outbox copy is not shown beside it.
  const waiting = pendingWrites("comment", item.id).filter((entry) => !comments.some((c) => c.author === me
    && c.id > entry.meta.after && c.text === entry.meta.text && c.visibility === entry.meta.visibility));
  const canDelete = WRITABLE.includes(state.status);
  fill(byId("room-comment-list"),
    hidden ? el("li", { className: "room-comments__earlier" }, button(
      interpolate(gettext("Show earlier comments (%s)"), [hidden]),
      () => loadEarlier(item, comments.length ? comments[0].id : null),
      { className: "link-button", key: `earlier-${item.id}`, action: "earlier-comments",
        disabled: loadingEarlier.has(item.id) })) : null,
    ...comments.map((c) => el("li", {
      className: `comment comment--${c.visibility}${c.deleted ? " is-deleted" : ""}${c.author === me ? " is-mine" : ""}`,
      "data-comment-id": c.id, "data-visibility": c.visibility,
    },
    el("div", { className: "comment__head" },
      el("strong", {}, c.author_name || c.author),
      el("span", { className: `badge badge--vis badge--vis-${c.visibility}` }, VISIBILITY()[c.visibility] || c.visibility),
      el("time", { className: "muted", datetime: c.created_at }, timeOf(c.created_at)),
      c.edited_at && !c.deleted ? el("span", { className: "muted" }, gettext("edited")) : null,
      c.author === me && !c.deleted && canDelete ? button(gettext("Delete"), () => {
        if (window.confirm(gettext("Delete this comment? It will be shown as deleted."))) {
          post(`comments/${c.id}/delete/`, {}, c.text.slice(0, 40));
        }
      }, { className: "link-button comment__delete", key: `delete-${c.id}`, action: "delete-comment" }) : null),
    c.document ? el("p", { className: "comment__ref muted" }, c.page
      ? interpolate(gettext("On %s, page %s"), [documentTitle(item, c.document), c.page])
      : interpolate(gettext("On %s"), [documentTitle(item, c.document)])) : null,
    el("p", { className: "comment__text" }, c.deleted ? gettext("(comment deleted)") : c.text))),
    ...waiting.map((entry) => el("li", { className: `comment comment--${entry.meta.visibility} is-mine is-pending`, "data-pending-key": entry.key },
      el("div", { className: "comment__head" },
        el("strong", {}, gettext("You")),
        el("span", { className: `badge badge--vis badge--vis-${entry.meta.visibility}` }, VISIBILITY()[entry.meta.visibility]),
        el("span", { className: "pending pending--inline" }, gettext("Waiting to be sent…"))),
      el("p", { className: "comment__text" }, entry.meta.text))),
  );
  if (!comments.length && !waiting.length && !hidden) {
    byId("room-comment-list").append(el("li", { className: "muted room-comments__empty" }, gettext("No comments yet.")));
  }
}

// The composer is built once and kept, so typing is never interrupted by a live update; its text and
// the chosen visibility belong to the item it was opened on.
function composer() {
  const text = el("textarea", {
    id: "room-comment-text", name: "text", rows: "3", maxlength: root.dataset.commentMax, required: true,
    "aria-label": gettext("Your comment"), placeholder: gettext("Write a comment…"),
  });
  const visibility = el("select", { id: "room-comment-visibility", name: "visibility", "aria-label": gettext("Who sees it") });
  const help = el("p", { className: "muted room-composer__help", id: "room-comment-help" });
  visibility.addEventListener("change", () => { help.textContent = VISIBILITY_HELP()[visibility.value] || ""; });
  const form = el("form", { id: "room-composer", className: "room-composer", onsubmit: (event) => {
    event.preventDefault();
    const value = text.value.trim();
    if (!value || draftItem === null) return;
    const after = state.comments.reduce((max, c) => Math.max(max, c.id), 0);
    post(`agenda-items/${draftItem}/comments/`, { text: value, visibility: visibility.value }, value.slice(0, 40),
      { kind: "comment", item: draftItem, text: value, visibility: visibility.value, after });
    text.value = "";
    drafts.delete(draftItem);
  } }, text,
  el("div", { className: "room-composer__actions" }, visibility,
    el("button", { type: "submit", className: "btn btn--primary", id: "room-comment-send" }, gettext("Send"))),
  help);
  return form;
}

function renderComposer(item) {
  const form = byId("room-composer");
  const text = byId("room-comment-text");
  const visibility = byId("room-comment-visibility");
  if (draftItem !== item.id) {
    if (draftItem !== null) drafts.set(draftItem, { text: text.value, visibility: visibility.value });
    const draft = drafts.get(item.id) || { text: "", visibility: "shared" };
    draftItem = item.id;
    text.value = draft.text;
    visibility.dataset.wanted = draft.visibility;
  }
  // Observers may keep private notes only (services.room.comment_post): the server lists what is allowed.
  const visibilities = can().comment_visibilities || [];
  const allowed = Object.entries(VISIBILITY()).filter(([value]) => visibilities.includes(value));
  if (!allowed.length) { form.hidden = true; return; } // not a participant (an archivist reading)
  const wanted = visibility.dataset.wanted || visibility.value || "shared";
  if (visibility.options.length !== allowed.length) {
    visibility.replaceChildren(...allowed.map(([value, label]) => el("option", { value }, label)));
  }
  visibility.value = allowed.some(([value]) => value === wanted) ? wanted : allowed[0][0];
  delete visibility.dataset.wanted;
  byId("room-comment-help").textContent = VISIBILITY_HELP()[visibility.value] || "";
  form.hidden = !(can().comment && WRITABLE.includes(state.status));
}

// --- votes (issue #4) ------------------------------------------------------------------------------------
//
// Motions come from the snapshot and the motion.* / vote.* events (state.js). A vote goes through the
// outbox like every other write; the screen shows it as counted only once the server's vote.mine
// event has arrived. The receipt comes only in the first answer to the vote: it is kept on this tablet
// (localStorage, one key per motion) so a reload still shows it, and never sent anywhere.

const ATTENDING = ["present", "remote"];
const CHOICE_KEYS = ["yes", "no", "abstain"];
const CHOICES = () => ({ yes: gettext("In favour"), no: gettext("Against"), abstain: gettext("Abstain") });
const MOTION_STATUS = () => ({ draft: gettext("Not yet open"), open: gettext("Voting open"), closed: gettext("Voting closed") });
const METHODS = () => ({ named: gettext("Named vote"), secret: gettext("Secret vote") });
const OUTCOMES = () => ({
  adopted: gettext("Adopted: enough members voted in favour."),
  adopted_by_chairs_casting_vote: gettext("Adopted: the votes were tied and the chair voted in favour."),
  no_quorum: gettext("Not adopted: not enough members were present (no quorum)."),
  not_enough_yes: gettext("Not adopted: not enough members voted in favour."),
  rejected_by_chairs_casting_vote: gettext("Not adopted: the votes were tied and the chair voted against."),
});
const RULES = () => ({
  "vn-government": gettext("Government rule: two thirds present, more than half of all members in favour"),
  "simple-majority": gettext("Simple majority of the votes cast"),
  "absolute-majority": gettext("Absolute majority: more than half of all members"),
  "two-thirds": gettext("Two-thirds majority of all members"),
});
const ruleName = (rule) => RULES()[rule] || rule;
const voteAnswered = new Set(); // motions whose vote the server accepted, until its vote.mine arrives

const receiptKey = (motionId) => `ecabinet.receipt.${meetingId}.${me}.${motionId}`;
function storedReceipt(motionId) {
  try { return localStorage.getItem(receiptKey(motionId)); } catch { return null; }
}
function keepReceipt(motionId, receipt) {
  try { localStorage.setItem(receiptKey(motionId), receipt); } catch { /* private mode: shown this time only */ }
}
const shownReceipts = new Map(); // fallback when localStorage is not available

// Who may vote on the motion now, as the service decides (voting.services.eligibility): the roles the
// server counts (voting_rules.counted_roles: the chair and the members) attending in the room or remotely; an approved substitute when the motion lets them and the
// member they replace is not attending.
function eligibleVoters(motion) {
  const people = state.participants || [];
  const attending = (p) => ATTENDING.includes(p.attendance);
  const counted = (state.voting_rules && state.voting_rules.counted_roles) || [];
  const members = people.filter((p) => counted.includes(p.role) && attending(p));
  if (!motion.substitutes_may_vote) return members.length;
  const memberAttends = (username) => people.some((p) => p.username === username && attending(p));
  const substitutes = people.filter((p) => p.role === "substitute" && p.approved && attending(p)
    && p.substitute_for && !memberAttends(p.substitute_for));
  return members.length + substitutes.length;
}

function mayVote(motion) {
  if (!can().vote || motion.status !== "open" || state.status !== "in_progress") return false;
  const mine = (state.participants || []).find((p) => p.username === me);
  if (!mine) return false;
  if (can().stands_in) return Boolean(motion.substitutes_may_vote && mine.approved);
  return true;
}

function iAttend() {
  const mine = (state.participants || []).find((p) => p.username === me);
  return Boolean(mine && ATTENDING.includes(mine.attendance));
}

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== null && value !== undefined) node.setAttribute(key, value);
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// A horizontal bar chart: each row a label, a bar scaled to ``max`` and the count at its end. The rows
// carry their words, so nothing is told by colour alone.
function barChart(rows, max, title) {
  const rowHeight = 40;
  const barWidth = 300;
  const scale = max > 0 ? barWidth / max : 0;
  return svg("svg", {
    class: "vote-chart__svg", viewBox: `0 0 400 ${rows.length * rowHeight + 4}`, role: "img", "aria-label": title,
    preserveAspectRatio: "xMinYMin meet",
  }, rows.map((row, i) => {
    const y = i * rowHeight;
    const width = Math.max(row.value > 0 ? 3 : 0, Math.round(row.value * scale));
    return svg("g", { class: `vote-bar vote-bar--${row.key}`, "data-choice": row.key, "data-value": row.value },
      svg("text", { x: 0, y: y + 14, class: "vote-bar__label" }, row.label),
      svg("rect", { x: 0, y: y + 20, width: barWidth, height: 14, rx: 4, class: "vote-bar__track" }),
      svg("rect", { x: 0, y: y + 20, width, height: 14, rx: 4, class: "vote-bar__fill" }),
      svg("text", { x: barWidth + 10, y: y + 32, class: "vote-bar__count" }, String(row.value)));
  }));
}

function countsLine(counts) {
  return CHOICE_KEYS.map((key) => `${CHOICES()[key]}: ${counts[key] || 0}`).join(" · ");
}

function tallyChart(motion) {
  const tally = motion.tally || {};
  const eligible = eligibleVoters(motion);
  const voted = tally.voted || 0;
  const participation = interpolate(gettext("%s of %s present members have voted"), [voted, Math.max(eligible, voted)]);
  if (motion.method === "secret") {
    const summary = interpolate(ngettext("%s member has voted", "%s members have voted", voted), [voted]);
    return el("div", { className: "vote-chart", "aria-live": "polite", "data-voted": voted },
      barChart([{ key: "voted", label: gettext("Voted (secret ballot)"), value: voted }], Math.max(eligible, voted, 1), summary),
      el("p", { className: "vote-chart__summary" }, summary, " · ", participation),
      el("p", { className: "muted m-0 small" }, gettext("How each member voted stays secret; the counts are shown at the close.")));
  }
  const rows = CHOICE_KEYS.map((key) => ({ key, label: CHOICES()[key], value: tally[key] || 0 }));
  return el("div", {
    className: "vote-chart", "aria-live": "polite", "data-voted": voted,
    "data-yes": tally.yes || 0, "data-no": tally.no || 0, "data-abstain": tally.abstain || 0,
  },
  barChart(rows, Math.max(eligible, voted, 1), `${countsLine(tally)}. ${participation}`),
  el("p", { className: "vote-chart__summary" }, participation));
}

function resultView(motion) {
  const r = motion.result;
  if (!r) return null;
  const rows = CHOICE_KEYS.map((key) => ({ key, label: CHOICES()[key], value: r[key] || 0 }));
  const headline = r.adopted ? gettext("Adopted") : gettext("Not adopted");
  return el("div", { className: `vote-result vote-result--${r.adopted ? "adopted" : "rejected"}`,
    "data-adopted": String(r.adopted), "data-outcome": r.outcome, "aria-live": "polite" },
  el("p", { className: "vote-result__headline" },
    el("span", { className: "vote-result__icon", "aria-hidden": "true" }, r.adopted ? "✓" : "✗"), headline),
  el("p", { className: "vote-result__outcome" }, OUTCOMES()[r.outcome] || r.outcome),
  barChart(rows, Math.max(r.eligible || 0, 1), `${headline}. ${countsLine(r)}`),
  el("dl", { className: "vote-result__facts" },
    el("dt", {}, gettext("Present")),
    el("dd", {}, interpolate(gettext("%s of %s members"), [r.present, r.eligible])),
    el("dt", {}, gettext("Quorum")),
    el("dd", { className: r.quorum_met ? "is-ok" : "is-bad", "data-quorum": String(r.quorum_met) },
      r.quorum_met ? gettext("Quorum met") : gettext("Quorum not met")),
    el("dt", {}, gettext("Rule")),
    el("dd", {}, ruleName(r.rule)),
    el("dt", {}, gettext("Legal basis")),
    el("dd", { className: "vote-result__citation" }, r.citation)));
}

function receiptBox(motion) {
  const receipt = storedReceipt(motion.id) || shownReceipts.get(motion.id);
  if (!receipt) return null;
  const code = el("code", { className: "vote-receipt__code" }, receipt);
  return el("div", { className: "vote-receipt", role: "note" },
    el("p", { className: "vote-receipt__title" }, gettext("Your receipt")),
    code,
    el("p", { className: "muted m-0 small" },
      gettext("Copy or write down this receipt now: it lets you check later that your vote is in the record. It is shown only on this tablet and cannot be shown again.")),
    el("div", { className: "btn-row" },
      navigator.clipboard ? button(gettext("Copy"), () => {
        navigator.clipboard.writeText(receipt).then(() => say(gettext("Receipt copied.")), () => {});
      }, { className: "btn btn--small", key: `copy-receipt-${motion.id}`, action: "copy-receipt" }) : null,
      button(gettext("I have noted it — hide"), () => {
        if (!window.confirm(gettext("Hide the receipt? It cannot be shown again."))) return;
        try { localStorage.removeItem(receiptKey(motion.id)); } catch { /* nothing kept */ }
        shownReceipts.delete(motion.id);
        render();
      }, { className: "btn btn--small", key: `hide-receipt-${motion.id}`, action: "hide-receipt" })));
}

function myVoteView(motion) {
  const mine = motion.my_vote;
  const sending = pendingWrites("vote", motion.id).length > 0 || (!mine && voteAnswered.has(motion.id));
  if (mine) voteAnswered.delete(motion.id);
  let line = null;
  if (mine && mine.voted) {
    const text = mine.choice
      ? interpolate(gettext("Your vote: %s"), [CHOICES()[mine.choice] || mine.choice])
      : gettext("You have voted (secret ballot).");
    line = el("p", { className: "vote-mine", "data-choice": mine.choice || "secret" },
      el("span", { "aria-hidden": "true" }, "✓ "), text,
      mine.on_behalf_of ? ` (${interpolate(gettext("on behalf of %s"), [mine.on_behalf_of])})` : null);
  } else if (sending) {
    line = el("p", { className: "vote-sending", role: "status" }, gettext("Sending your vote…"));
  } else if (mayVote(motion)) {
    line = iAttend() || can().stands_in
      ? el("div", { className: "vote-buttons", role: "group", "aria-label": gettext("Your vote") },
        CHOICE_KEYS.map((choice) => button(CHOICES()[choice], () => {
          post(`motions/${motion.id}/votes/`, { choice }, motion.title, { kind: "vote", item: motion.id, choice });
        }, { className: `btn vote-button vote-button--${choice}`, key: `vote-${motion.id}-${choice}`, action: `vote-${choice}`,
          name: `${CHOICES()[choice]} — ${motion.title}` })))
      : el("p", { className: "muted m-0" }, gettext("Your attendance has not been recorded as present; ask the secretariat to vote."));
  }
  return [line, receiptBox(motion)];
}

function motionView(motion) {
  const controls = [];
  if (runs() && motion.status === "draft" && state.status === "in_progress") {
    controls.push(button(gettext("Open the vote"), () => post(`motions/${motion.id}/open/`, {}, motion.title),
      { className: "btn btn--primary", key: `open-${motion.id}`, action: "open-motion" }));
  }
  if (runs() && motion.status === "open") {
    controls.push(button(gettext("Close the vote"), () => {
      if (window.confirm(gettext("Close the vote? The result is then final."))) post(`motions/${motion.id}/close/`, {}, motion.title);
    }, { className: "btn btn--danger", key: `close-${motion.id}`, action: "close-motion" }));
  }
  return el("li", { className: `motion motion--${motion.status}`, "data-motion-id": motion.id, "data-status": motion.status },
    el("div", { className: "motion__head" },
      el("strong", { className: "motion__title" }, motion.title),
      el("span", { className: `badge badge--motion badge--motion-${motion.status}` }, MOTION_STATUS()[motion.status] || motion.status),
      el("span", { className: "badge badge--item" }, METHODS()[motion.method] || motion.method)),
    motion.text ? el("p", { className: "motion__text" }, motion.text) : null,
    motion.status === "draft" ? el("p", { className: "muted m-0 small" }, `${gettext("Rule")}: ${ruleName(motion.rule)}`) : null,
    motion.status === "open" ? tallyChart(motion) : null,
    motion.status === "closed" ? resultView(motion) : null,
    motion.status !== "draft" ? myVoteView(motion) : null,
    controls.length ? el("div", { className: "btn-row room-controls" }, controls) : null);
}

// The form to put a motion is built once and kept, like the comment composer, so a live update never
// interrupts typing.
function motionForm() {
  const title = el("input", { type: "text", id: "room-motion-title", name: "title", maxlength: "500", required: true,
    "aria-label": gettext("Motion to put to the vote"), placeholder: gettext("Motion to put to the vote…") });
  const method = el("select", { id: "room-motion-method", name: "method", "aria-label": gettext("How members vote") },
    el("option", { value: "named" }, gettext("Named vote")), el("option", { value: "secret" }, gettext("Secret vote")));
  return el("form", { id: "room-motion-form", className: "room-motion-form", onsubmit: (event) => {
    event.preventDefault();
    const value = title.value.trim();
    if (!value || selected === null) return;
    post(`agenda-items/${selected}/motions/`, { title: value, method: method.value }, value.slice(0, 40),
      { kind: "motion", item: selected, title: value });
    title.value = "";
  } }, title,
  el("div", { className: "room-composer__actions" }, method,
    el("button", { type: "submit", className: "btn btn--primary", id: "room-motion-create" }, gettext("Put a motion"))),
  el("p", { className: "muted room-composer__help", id: "room-motion-rule" }));
}

function renderVotes(item) {
  const section = byId("room-votes");
  const motions = (state.motions || []).filter((m) => m.agenda_item === item.id);
  const creating = pendingWrites("motion", item.id);
  const canPut = runs() && QUEUE_OPEN.includes(state.status);
  section.hidden = !motions.length && !canPut;
  fill(byId("room-motion-list"),
    motions.map(motionView),
    creating.map((entry) => el("li", { className: "motion is-pending", "data-pending-key": entry.key },
      el("div", { className: "motion__head" }, el("strong", {}, entry.meta.title),
        el("span", { className: "pending pending--inline" }, gettext("Waiting to be sent…"))))),
    !motions.length && !creating.length ? el("li", { className: "muted" }, gettext("No motion on this item yet.")) : null);
  byId("room-motion-form").hidden = !canPut;
  const rules = state.voting_rules;
  byId("room-motion-rule").textContent = rules ? `${gettext("Rule")}: ${ruleName(rules.rule)}` : "";
}

function renderDetail() {
  const item = state.agenda.find((i) => i.id === selected);
  if (!item) {
    byId("room-detail").replaceChildren(el("p", { className: "muted" }, gettext("The agenda is empty.")));
    draftItem = null;
    return;
  }
  detailSections();
  renderFollow(item);
  renderHead(item);
  renderVotes(item);
  renderSpeakers(item);
  renderPosition(item);
  renderComments(item);
  renderComposer(item);
}

// --- presence (the secretariat) ---------------------------------------------------------------------------

function renderPresence() {
  const box = byId("room-presence");
  if (!state.presence) { box.hidden = true; box.replaceChildren(); return; }
  box.hidden = false;
  const online = new Set(state.presence);
  const people = state.participants.filter((p) => p.username !== me);
  const count = people.filter((p) => online.has(p.username)).length;
  fill(box,
    el("h2", { className: "room-side__title" }, `${gettext("Connected now")}: ${count}/${people.length}`),
    el("ul", { className: "room-presence__list" }, people.map((p) => el("li", {
      className: online.has(p.username) ? "is-online" : "is-offline", "data-username": p.username,
    }, el("span", { className: "dot", "aria-hidden": "true" }),
    el("span", {}, p.full_name),
    el("span", { className: "sr-only" }, online.has(p.username) ? gettext("connected") : gettext("not connected"))))));
}

// --- drawing ---------------------------------------------------------------------------------------------

function render() {
  if (!state) return;
  const typing = document.activeElement && document.activeElement.id === "room-comment-text"
    && document.activeElement.value.trim() !== "";
  // Every tablet follows "now discussing", except one whose owner is in the middle of a comment:
  // that one gets a banner with a button instead of having the page move under their fingers.
  if (state.current_item !== lastCurrent) { follow = true; lastCurrent = state.current_item; }
  if (follow && state.current_item && !typing) selected = state.current_item;
  if (!state.agenda.some((i) => i.id === selected)) {
    selected = state.current_item || (state.agenda[0] && state.agenda[0].id) || null;
  }
  const status = byId("room-status");
  status.textContent = MEETING_STATUS()[state.status] || state.status;
  status.className = `badge badge--${state.status}`;
  status.dataset.status = state.status;
  const focusKey = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
  renderAgenda();
  renderDetail();
  renderPresence();
  if (focusKey) {
    const again = root.querySelector(`[data-key="${CSS.escape(focusKey)}"]`);
    if (again) again.focus({ preventScroll: true });
  }
}

let renderQueued = false;
function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  // One drawing per frame, however many events a replay brings.
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

setInterval(() => {
  document.querySelectorAll(".room-timer").forEach((node) => { node.textContent = elapsed(node.dataset.since); });
}, 1000);

const room = new Room({
  meetingId,
  onState: (newState, event) => { state = newState; noteState(event); announceChanges(newState); scheduleRender(); },
  onConnection: setConnection,
  onError: (error) => say(error.code === "forbidden" ? gettext("You no longer have access to this session.")
    : error.code === "too_many_connections"
      ? gettext("Your account has this session open on too many devices; this one was disconnected. Reload the page to reconnect.")
      : error.detail, "error"),
});
byId("room-layout").hidden = false;
byId("room-connection").hidden = false;
window.ecabinetRoom = room; // for diagnostics and the browser tests
window.ecabinetOutbox = outbox;
renderPending();
room.connect();
// Writes left by an earlier visit (or kept while offline) are retried regularly, not only on reconnect:
// the HTTP API may be reachable while the socket is not.
setInterval(() => outbox.flush(), 5000);
