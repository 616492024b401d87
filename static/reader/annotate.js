// The reader's annotations (issue 17): highlights, free-hand ink and notes drawn over the pages of
// static/reader/reader.js, kept per user, private by default (docs/annotations.md).
//
// - Reads: GET /api/v1/documents/{id}/annotations/?version=N (mine + the shared ones I may see, and
//   those that could not be placed on this version); again when the page comes back to the screen.
// - Writes go only through the room's Outbox (static/room/live.js, the same localStorage queue as the
//   room: `ecabinet.outbox.<meeting>.<username>`), each with its Idempotency-Key: an annotation made offline
//   is shown at once as "waiting to be sent" and applied exactly once when the tablet is back online.
//   Edited or deleted before it was sent, the queued write is changed or withdrawn instead.
// - Drawing: the reader says each page it renders (`reader:page` on #reader: {page, element, width,
//   height}); this module puts one layer over it (SVG for highlights and ink, buttons for notes).
//   Coordinates are fractions of the page, so zoom changes nothing.
// - A carried-forward highlight (no rects: the server found its text on a new version) is placed on
//   its page by finding its quote in the page's text layer.
//
// Strings go through Django's JavaScript catalogue (/jsi18n/), as in the room.

import { Outbox } from "../room/live.js";
import { el } from "../js/dom.js";

const gettext = window.gettext || ((text) => text);
const interpolate = window.interpolate || ((format, args) => {
  let i = 0;
  return format.replace(/%s/g, () => String(args[i++]));
});

// Bounds the server enforces (docs/limits.md "Annotations"); kept here so a drawing stops growing
// where the server would refuse it, instead of being refused after the fact.
const MAX_RECTS = 200;
const MAX_STROKES = 50;
const MAX_POINTS = 5000;
const MAX_QUOTE = 1000;
const MAX_TEXT = 4000;
const MIN_STEP = 0.002; // a new ink point only after the pen moved this much (fraction of the page)
const SVG = "http://www.w3.org/2000/svg";
const COLORS = ["yellow", "green", "blue", "pink"];

const COLOR_NAMES = () => ({
  yellow: gettext("Yellow"), green: gettext("Green"), blue: gettext("Blue"), pink: gettext("Pink"),
});
const VISIBILITY = () => ({
  private: gettext("Private note"), shared: gettext("Shared with the session"), secretariat: gettext("To the secretariat"),
});
const KINDS = () => ({ highlight: gettext("Highlight"), ink: gettext("Drawing"), note: gettext("Note") });

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

const clamp = (x) => Math.min(1, Math.max(0, x));
const round = (x) => Math.round(clamp(x) * 10000) / 10000;
const squash = (text) => String(text || "").replace(/\s+/g, " ").trim();
// The watermark (meetings/watermark.py) is real text on every page of the reader's copy — the diagonal
// and the footer, each one span naming the copy ("Bản số N") and the UTC time. It differs from copy to
// copy, so nothing is anchored to it: a drawing near it would never be found on a new version.
const WATERMARK = /Bản số \d+/;
const isWatermark = (text) => WATERMARK.test(text) && text.includes(" UTC");

export class Annotations {
  constructor(root) {
    this.root = root;
    this.documentId = Number(root.dataset.document);
    this.meetingId = Number(root.dataset.meeting);
    this.url = root.dataset.annotationsUrl;
    this.version = Number(root.dataset.version);
    this.list = new Map(); // id (server id, or "local:<outbox key>") → annotation
    this.unplaced = [];
    this.pages = new Map(); // page number → { element, width, height }
    this.mode = null; // null | "ink" | "note"
    this.color = "yellow";
    this.ink = null; // { page, strokes: [[[x, y]...]...], points } while drawing
    this.later = new Map(); // outbox key of a create in flight → changes to send once it has an id
    // The room's own queue (named by the username, as in static/room/room.js): whichever page of the
    // session is open next — the reader or the room — sends what waits in it.
    this.outbox = new Outbox(`ecabinet.outbox.${this.meetingId}.${root.dataset.username}`,
      (entry, status, payload, { kept }) => this.answered(entry, status, payload, kept),
      () => this.showWaiting());
    this.buildBar();
    root.addEventListener("reader:page", (event) => this.pageShown(event.detail));
    document.addEventListener("visibilitychange", () => { if (!document.hidden) this.load(); });
    window.addEventListener("online", () => { this.outbox.flush(); this.load(); });
    document.addEventListener("selectionchange", () => this.selectionChanged());
    this.load();
    this.outbox.flush();
  }

  // --- the toolbar -----------------------------------------------------------------------------------

  buildBar() {
    const colour = (name) => el("button", {
      type: "button", className: `annot-colour annot--${name}`, "data-colour": name, "aria-pressed": String(name === this.color),
      "aria-label": interpolate(gettext("Colour: %s"), [COLOR_NAMES()[name]]), title: COLOR_NAMES()[name],
      onclick: () => { this.color = name; this.syncBar(); },
    });
    this.visibility = el("select", { className: "annot-visibility", "aria-label": gettext("Who sees new annotations") },
      ...Object.entries(VISIBILITY()).map(([value, label]) => el("option", { value }, label)));
    this.highlightButton = el("button", { type: "button", className: "btn btn--small", "data-action": "highlight",
      onclick: () => this.highlightSelection(), disabled: true,
      title: gettext("Select text on a page, then highlight it") }, gettext("Highlight"));
    this.inkButton = el("button", { type: "button", className: "btn btn--small", "data-action": "ink", "aria-pressed": "false",
      onclick: () => this.setMode(this.mode === "ink" ? null : "ink") }, gettext("Draw"));
    this.noteButton = el("button", { type: "button", className: "btn btn--small", "data-action": "note", "aria-pressed": "false",
      onclick: () => this.setMode(this.mode === "note" ? null : "note") }, gettext("Note"));
    this.inkSave = el("button", { type: "button", className: "btn btn--small btn--primary", "data-action": "ink-save", hidden: true,
      onclick: () => this.saveInk() }, gettext("Save drawing"));
    this.inkCancel = el("button", { type: "button", className: "btn btn--small", "data-action": "ink-cancel", hidden: true,
      onclick: () => this.cancelInk() }, gettext("Discard drawing"));
    this.waiting = el("span", { className: "annot-waiting muted", role: "status" });
    this.hint = el("span", { className: "annot-hint muted", "aria-live": "polite" });
    this.countLabel = el("span");
    this.panelList = el("div", { className: "annot-panel__list" });
    this.panel = el("details", { className: "annot-panel" },
      el("summary", {}, this.countLabel), this.panelList);
    this.bar = el("div", { className: "annot-bar", role: "toolbar", "aria-label": gettext("Annotations") },
      this.highlightButton, this.inkButton, this.noteButton, this.inkSave, this.inkCancel,
      el("span", { className: "annot-colours", role: "group", "aria-label": gettext("Colour") }, ...COLORS.map(colour)),
      this.visibility, this.waiting, this.hint);
    this.root.before(this.bar);
    this.root.after(this.panel);
    this.dialog = el("dialog", { className: "annot-dialog" }); // named by its title once it has one
    document.body.append(this.dialog);
    this.syncBar();
  }

  syncBar() {
    for (const button of this.bar.querySelectorAll("[data-colour]")) {
      button.setAttribute("aria-pressed", String(button.dataset.colour === this.color));
    }
    this.inkButton.setAttribute("aria-pressed", String(this.mode === "ink"));
    this.noteButton.setAttribute("aria-pressed", String(this.mode === "note"));
    this.inkSave.hidden = this.inkCancel.hidden = !this.ink;
    this.root.classList.toggle("is-annotating", Boolean(this.mode));
    this.root.dataset.annotMode = this.mode || "";
    this.hint.textContent = this.mode === "ink" ? gettext("Draw on a page with your finger or pen.")
      : this.mode === "note" ? gettext("Tap the place on the page where the note belongs.") : "";
  }

  setMode(mode) {
    if (this.ink && mode !== "ink") this.saveInk();
    this.mode = mode;
    this.syncBar();
  }

  selectionChanged() {
    const selection = window.getSelection();
    this.highlightButton.disabled = !selection || selection.isCollapsed || !this.pageOf(selection.anchorNode);
  }

  say(text) { this.hint.textContent = text; }

  // --- reading --------------------------------------------------------------------------------------

  async load() {
    if (!this.url) return;
    const version = Number(this.root.dataset.version) || this.version;
    let payload;
    try {
      const response = await fetch(`${this.url}?version=${version}`, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return; // offline without a kept copy, or no longer allowed: what is drawn stays
      payload = await response.json();
    } catch {
      return;
    }
    if (version !== this.version) { this.version = version; this.pages.clear(); }
    this.list = new Map((payload.results || []).map((a) => [a.id, a]));
    this.unplaced = payload.unplaced || [];
    this.drawAll();
  }

  // Writes of this document and version still in the outbox, shown as if made (marked waiting).
  queued() {
    const shown = [];
    const deleted = new Set();
    for (const entry of this.outbox.items()) {
      const meta = entry.meta || {};
      if (meta.kind !== "annotation" || meta.document !== this.documentId) continue;
      if (entry.method === "DELETE") deleted.add(meta.id);
      else if (entry.method === "PATCH" && this.list.has(meta.id)) shown.push({ ...this.list.get(meta.id), ...entry.body, pending: true });
      else if (entry.method === "POST" && meta.version === this.version) {
        shown.push({ ...entry.body, id: `local:${entry.key}`, key: entry.key, mine: true, pending: true, placement: "placed" });
      }
    }
    return { shown, deleted };
  }

  current() {
    const { shown, deleted } = this.queued();
    const byId = new Map(this.list);
    for (const a of shown) byId.set(a.id, a);
    for (const id of deleted) byId.delete(id);
    return [...byId.values()].filter((a) => a.placement !== "unplaced");
  }

  // --- drawing --------------------------------------------------------------------------------------

  pageShown({ page, element, width, height }) {
    if (Number(this.root.dataset.version) !== this.version) { this.load(); }
    this.pages.set(page, { element, width, height });
    this.drawPage(page);
  }

  drawAll() {
    this.redraw();
    this.showWaiting();
  }

  layer(page) {
    const shown = this.pages.get(page);
    if (!shown || !shown.element.isConnected) return null;
    let layer = shown.element.querySelector(":scope > .annot-layer");
    if (!layer) {
      layer = el("div", { className: "annot-layer", "data-page": page });
      layer.addEventListener("pointerdown", (event) => this.pointerDown(event, page));
      shown.element.append(layer);
    }
    return layer;
  }

  drawPage(page) {
    const layer = this.layer(page);
    if (!layer) return;
    const drawing = svg("svg", { class: "annot-svg", viewBox: "0 0 1 1", preserveAspectRatio: "none", "aria-hidden": "true" });
    const notes = [];
    for (const a of this.current().filter((x) => x.page === page)) {
      const pending = a.pending ? " is-pending" : "";
      if (a.kind === "highlight") {
        const rects = a.rects && a.rects.length ? a.rects : this.rectsOfQuote(page, a.quote);
        for (const [x, y, w, h] of rects) {
          drawing.append(svg("rect", { x, y, width: w, height: h, class: `annot-hl annot--${a.color || "yellow"}${pending}` }));
        }
        if (rects.length) notes.push(this.marker(a, rects[0][0] + rects[0][2], rects[0][1], "▍"));
      } else if (a.kind === "ink") {
        for (const stroke of a.ink || []) {
          drawing.append(svg("polyline", { points: stroke.map(([x, y]) => `${x},${y}`).join(" "),
            class: `annot-ink annot--${a.color || "yellow"}${pending}` }));
        }
        const first = (a.ink || [])[0];
        if (first && first.length) notes.push(this.marker(a, first[0][0], first[0][1], "✎"));
      } else if (a.kind === "note" && a.point) {
        notes.push(this.marker(a, a.point[0], a.point[1], "✉"));
      }
    }
    if (this.ink && this.ink.page === page) {
      for (const stroke of this.ink.strokes) {
        drawing.append(svg("polyline", { points: stroke.map(([x, y]) => `${x},${y}`).join(" "),
          class: `annot-ink annot--${this.color} is-drawing` }));
      }
    }
    layer.replaceChildren(drawing, ...notes);
  }

  // Every annotation has a named button at its place: the keyboard and screen readers reach it.
  marker(a, x, y, glyph) {
    const who = a.mine ? "" : ` — ${a.author ? a.author.name : ""}`;
    const label = `${KINDS()[a.kind]} (${VISIBILITY()[a.visibility] || a.visibility})${who}${a.text ? `: ${a.text}` : ""}`;
    const button = el("button", {
      type: "button", className: `annot-marker annot--${a.color || "yellow"}${a.mine ? " is-mine" : ""}${a.pending ? " is-pending" : ""}`,
      "data-annotation": a.id, "data-kind": a.kind, "data-visibility": a.visibility, "aria-label": label, title: label,
      onclick: (event) => { event.stopPropagation(); this.open(a); },
    }, glyph);
    button.style.left = `${clamp(x) * 100}%`;
    button.style.top = `${clamp(y) * 100}%`;
    return button;
  }

  // A highlight carried to a new version keeps its text, not its place: find the text on the page.
  rectsOfQuote(page, quote) {
    const shown = this.pages.get(page);
    const wanted = squash(quote);
    if (!shown || !wanted) return [];
    const spans = [...shown.element.querySelectorAll(".textLayer span")]
      .filter((s) => s.textContent.trim() && !isWatermark(s.textContent));
    let text = "";
    const starts = [];
    for (const span of spans) { starts.push(text.length); text += `${squash(span.textContent)} `; }
    const at = text.indexOf(wanted);
    if (at < 0) return [];
    const box = shown.element.getBoundingClientRect();
    const rects = [];
    spans.forEach((span, i) => {
      const end = starts[i] + squash(span.textContent).length;
      if (end <= at || starts[i] >= at + wanted.length) return;
      const r = span.getBoundingClientRect();
      rects.push([round((r.left - box.left) / box.width), round((r.top - box.top) / box.height),
        round(r.width / box.width), round(r.height / box.height)]);
    });
    return rects.slice(0, MAX_RECTS);
  }

  drawPanel() {
    const mine = this.current().sort((a, b) => a.page - b.page);
    this.countLabel.textContent = interpolate(gettext("Annotations on this version (%s)"), [mine.length]);
    const row = (a, placed) => el("li", { className: `annot-row${a.pending ? " is-pending" : ""}`, "data-annotation": a.id },
      el("button", { type: "button", className: "link-button", onclick: () => placed ? this.goTo(a.page) : this.open(a) },
        placed ? interpolate(gettext("Page %s"), [a.page]) : gettext("Not placed")),
      " · ", KINDS()[a.kind], " · ", el("span", { className: `badge badge--vis badge--vis-${a.visibility}` }, VISIBILITY()[a.visibility]),
      a.mine ? null : el("span", { className: "muted" }, ` ${a.author ? a.author.name : ""}`),
      a.quote ? el("q", { className: "annot-row__quote" }, a.quote.slice(0, 120)) : null,
      a.text ? el("div", { className: "annot-row__text" }, a.text) : null,
      a.pending ? el("span", { className: "muted" }, ` (${gettext("waiting to be sent")})`) : null);
    const parts = [el("ul", { className: "annot-rows" }, mine.map((a) => row(a, true)))];
    if (this.unplaced.length) {
      parts.push(el("h3", {}, interpolate(gettext("Could not be placed on this version (%s)"), [this.unplaced.length])),
        el("p", { className: "muted" }, gettext("The text these annotations were attached to is no longer in this version.")),
        el("ul", { className: "annot-rows annot-rows--unplaced" }, this.unplaced.map((a) => row(a, false))));
    }
    this.panelList.replaceChildren(...parts);
  }

  goTo(page) {
    this.root.dispatchEvent(new CustomEvent("reader:goto", { detail: { page } }));
  }

  showWaiting() {
    const count = this.outbox.items().filter((entry) => entry.meta && entry.meta.kind === "annotation").length;
    this.waiting.textContent = count ? interpolate(gettext("%s annotation change(s) waiting to be sent"), [count]) : "";
    // The queue changed (here or in another tab): draw once, after the change is complete.
    if (!this.redrawing) {
      this.redrawing = true;
      queueMicrotask(() => { this.redrawing = false; this.redraw(); });
    }
  }

  redraw() {
    for (const page of this.pages.keys()) this.drawPage(page);
    this.drawPanel();
  }

  // --- making ---------------------------------------------------------------------------------------

  pageOf(node) {
    for (const [page, shown] of this.pages) {
      if (node && shown.element.contains(node)) return page;
    }
    return null;
  }

  fraction(page, clientX, clientY) {
    const box = this.pages.get(page).element.getBoundingClientRect();
    return [round((clientX - box.left) / box.width), round((clientY - box.top) / box.height)];
  }

  // The text line nearest a point: what a note or a drawing is anchored to when the version changes.
  nearestText(page, [x, y]) {
    const shown = this.pages.get(page);
    const box = shown.element.getBoundingClientRect();
    const px = box.left + x * box.width;
    const py = box.top + y * box.height;
    let best = null;
    let bestDistance = Infinity;
    for (const span of shown.element.querySelectorAll(".textLayer span")) {
      const text = squash(span.textContent);
      if (text.length < 3 || isWatermark(text)) continue;
      const r = span.getBoundingClientRect();
      const dx = Math.max(r.left - px, 0, px - r.right);
      const dy = Math.max(r.top - py, 0, py - r.bottom);
      const distance = dx * dx + dy * dy;
      if (distance < bestDistance) { bestDistance = distance; best = text; }
    }
    return (best || "").slice(0, 200);
  }

  highlightSelection() {
    const selection = window.getSelection();
    const page = selection && !selection.isCollapsed ? this.pageOf(selection.anchorNode) : null;
    if (!page) { this.say(gettext("Select the text to highlight on a page first.")); return; }
    const box = this.pages.get(page).element.getBoundingClientRect();
    const rects = [];
    for (const r of selection.getRangeAt(0).getClientRects()) {
      if (r.width < 1 || r.height < 1 || r.bottom < box.top || r.top > box.bottom) continue;
      rects.push([round((r.left - box.left) / box.width), round((r.top - box.top) / box.height),
        round(r.width / box.width), round(r.height / box.height)]);
      if (rects.length === MAX_RECTS) break;
    }
    if (!rects.length) { this.say(gettext("Select the text to highlight on a page first.")); return; }
    const quote = squash(selection.toString()).slice(0, MAX_QUOTE);
    selection.removeAllRanges();
    this.create({ page, kind: "highlight", rects, quote });
  }

  pointerDown(event, page) {
    if (this.mode === "note") {
      event.preventDefault();
      const point = this.fraction(page, event.clientX, event.clientY);
      this.setMode(null);
      this.openNew(page, point);
      return;
    }
    if (this.mode !== "ink") return;
    event.preventDefault();
    if (this.ink && this.ink.page !== page) this.saveInk();
    if (!this.ink) this.ink = { page, strokes: [], points: 0 };
    if (this.ink.strokes.length >= MAX_STROKES) { this.say(gettext("This drawing is full: save it and start another.")); return; }
    const stroke = [this.fraction(page, event.clientX, event.clientY)];
    this.ink.strokes.push(stroke);
    this.ink.points += 1;
    const layer = event.currentTarget;
    layer.setPointerCapture(event.pointerId);
    const move = (e) => {
      if (this.ink.points >= MAX_POINTS) return;
      const [x, y] = this.fraction(page, e.clientX, e.clientY);
      const [lx, ly] = stroke[stroke.length - 1];
      if (Math.abs(x - lx) + Math.abs(y - ly) < MIN_STEP) return;
      stroke.push([x, y]);
      this.ink.points += 1;
      this.drawPage(page);
    };
    const up = () => {
      layer.removeEventListener("pointermove", move);
      layer.removeEventListener("pointerup", up);
      layer.removeEventListener("pointercancel", up);
      this.syncBar();
      this.drawPage(page);
    };
    layer.addEventListener("pointermove", move);
    layer.addEventListener("pointerup", up);
    layer.addEventListener("pointercancel", up);
  }

  saveInk() {
    const ink = this.ink;
    this.ink = null;
    this.syncBar();
    if (!ink || !ink.strokes.some((s) => s.length > 1)) { if (ink) this.drawPage(ink.page); return; }
    const strokes = ink.strokes.filter((s) => s.length > 1);
    this.create({ page: ink.page, kind: "ink", ink: strokes, quote: this.nearestText(ink.page, strokes[0][0]) });
  }

  cancelInk() {
    const ink = this.ink;
    this.ink = null;
    this.syncBar();
    if (ink) this.drawPage(ink.page);
  }

  create(fields) {
    const body = { version: this.version, visibility: this.visibility.value, color: this.color, quote: "", text: "", ...fields };
    this.outbox.send("POST", this.url, body, KINDS()[body.kind],
      { kind: "annotation", document: this.documentId, version: this.version });
    this.say(body.visibility === "private" ? gettext("Saved. Only you see it.") : gettext("Saved."));
    this.redraw();
  }

  // Changing or deleting: a write still queued is amended or withdrawn; one on its way waits for its id.
  change(a, changes) {
    if (a.key) {
      const entry = this.outbox.items().find((item) => item.key === a.key);
      if (entry && this.outbox.amend(a.key, { ...entry.body, ...changes })) { this.redraw(); return; }
      this.later.set(a.key, { ...(this.later.get(a.key) || {}), ...changes });
      return;
    }
    this.outbox.send("PATCH", `/api/v1/annotations/${a.id}/`, changes, gettext("Annotation"),
      { kind: "annotation", document: this.documentId, id: a.id });
    this.redraw();
  }

  remove(a) {
    if (a.key) {
      if (this.outbox.withdraw(a.key)) { this.redraw(); return; }
      this.later.set(a.key, { deleted: true });
      return;
    }
    this.outbox.send("DELETE", `/api/v1/annotations/${a.id}/`, null, gettext("Annotation"),
      { kind: "annotation", document: this.documentId, id: a.id });
    this.redraw();
  }

  answered(entry, status, payload, kept) {
    const meta = entry.meta || {};
    if (meta.kind !== "annotation") return;
    if (kept) return; // "not now": it stays queued and is shown as waiting
    if (status >= 200 && status < 300) {
      if (entry.method === "POST" && payload && payload.id) {
        this.list.set(payload.id, payload);
        const later = this.later.get(entry.key);
        this.later.delete(entry.key);
        if (later && later.deleted) this.remove(payload);
        else if (later) this.change(payload, later);
      } else if (entry.method === "PATCH" && payload && payload.id) {
        this.list.set(payload.id, payload);
      } else if (entry.method === "DELETE") {
        this.list.delete(meta.id);
      }
    } else {
      this.say(interpolate(gettext("The annotation was refused: %s"), [(payload && (payload.message || payload.detail)) || status]));
      this.load();
    }
    this.redraw();
  }

  // --- the note dialog ------------------------------------------------------------------------------

  openNew(page, point) {
    this.showDialog({ kind: "note", page, point, mine: true, visibility: this.visibility.value, color: this.color, text: "" }, true);
  }

  open(a) { this.showDialog(a, false); }

  showDialog(a, isNew) {
    const title = el("h2", { id: "annot-dialog-title" }, isNew ? gettext("New note")
      : `${KINDS()[a.kind]} — ${interpolate(gettext("Page %s"), [a.page])}`);
    const parts = [title];
    if (!a.mine) {
      parts.push(el("p", {}, a.author ? a.author.name : ""), el("p", {}, VISIBILITY()[a.visibility] || a.visibility));
      if (a.quote) parts.push(el("blockquote", {}, a.quote));
      if (a.text) parts.push(el("p", { className: "annot-dialog__text" }, a.text));
      parts.push(el("div", { className: "btn-row" }, el("button", { type: "button", className: "btn", onclick: () => this.dialog.close() }, gettext("Close"))));
      this.dialog.replaceChildren(...parts);
      this.dialog.setAttribute("aria-labelledby", "annot-dialog-title");
      this.dialog.showModal();
      return;
    }
    const text = el("textarea", { id: "annot-text", rows: 4, maxlength: MAX_TEXT, className: "annot-dialog__textarea" });
    text.value = a.text || "";
    const visibility = el("select", { id: "annot-vis" },
      ...Object.entries(VISIBILITY()).map(([value, label]) => el("option", { value, selected: value === a.visibility }, label)));
    if (a.quote) parts.push(el("blockquote", {}, a.quote.slice(0, 300)));
    parts.push(el("label", { for: "annot-text" }, gettext("Note")), text,
      el("label", { for: "annot-vis" }, gettext("Who sees it")), visibility);
    const save = () => {
      const value = text.value.trim();
      if (isNew && !value) { this.say(gettext("Write the note first.")); return; }
      if (value.length > MAX_TEXT) return;
      this.dialog.close();
      if (isNew) {
        this.create({ page: a.page, kind: "note", point: a.point, text: value, visibility: visibility.value,
          quote: this.nearestText(a.page, a.point) });
      } else {
        this.change(a, { text: value, visibility: visibility.value });
      }
    };
    const actions = [el("button", { type: "button", className: "btn btn--primary", "data-action": "annot-save", onclick: save }, gettext("Save"))];
    if (!isNew) {
      actions.push(el("button", { type: "button", className: "btn btn--danger", "data-action": "annot-delete",
        onclick: () => { this.dialog.close(); this.remove(a); } }, gettext("Delete")));
    }
    actions.push(el("button", { type: "button", className: "btn", onclick: () => this.dialog.close() }, gettext("Cancel")));
    parts.push(el("div", { className: "btn-row" }, ...actions));
    this.dialog.replaceChildren(...parts);
    this.dialog.setAttribute("aria-labelledby", "annot-dialog-title");
    this.dialog.showModal();
    text.focus();
  }
}

const root = document.getElementById("reader");
if (root && root.dataset.annotationsUrl && root.dataset.meeting && root.dataset.username) {
  window.ecabinetAnnotations = new Annotations(root);
}
