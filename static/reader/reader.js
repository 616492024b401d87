// The minister's in-app reader (issue 17, contract C3): PDF.js draws the reader's own watermarked copy
// (GET /documents/<pk>/read/<n>/, served by byte range) page by page.
//
// Over 400 lines because the reader is one screen whose parts share one state (the document, the
// scale, the current page): the page stack and its lazy rendering, thumbnails, zoom, search with
// highlighted hits, keyboard and touch, the version switch and the page comments. Annotations are drawn
// by a second module (annotate.js) from the "reader:page" events dispatched here.
//
// Only what is on screen is rendered: a page is a placeholder of the right size until it comes near
// the viewport, and pages far away give their canvases back. PDF.js asks the server for byte ranges
// (disableAutoFetch, disableStream): the whole file is never loaded at once.
//
// Strings go through Django's JavaScript catalogue (/jsi18n/, loaded before this module), as in
// static/room/room.js: Vietnamese first.

import * as pdfjs from "../vendor/pdfjs/pdf.min.mjs";
import { el } from "../js/dom.js";

const gettext = window.gettext || ((text) => text);
const interpolate = window.interpolate || ((format, args, named) => (named
  ? format.replace(/%\((\w+)\)s/g, (_, key) => String(args[key]))
  : format.replace(/%s/g, () => String(args.shift()))));

const VENDOR = new URL("../vendor/pdfjs/", import.meta.url).href;
pdfjs.GlobalWorkerOptions.workerSrc = `${VENDOR}pdf.worker.min.mjs`;

const ZOOMS = [0.5, 0.67, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 1.75, 2, 2.5, 3, 4];
const PAGE_GAP = 12; // px between pages (CSS .reader-page margin)
const KEEP_RENDERED = 10; // canvases kept; farther pages give theirs back
const MAX_CANVAS_PIXELS = 16_777_216; // one page's canvas at most (4096 × 4096)
const KEEP_THUMBS = 40; // thumbnails kept drawn
const COMMENT_PAGES_MAX = 20; // requests for the document's comments (each ROOM_COMMENTS_PAGE_MAX long)

const root = document.getElementById("reader");

function button(label, onclick, { className = "btn btn--small", text, key, title } = {}) {
  return el("button", { type: "button", className, onclick, "aria-label": label, title: title || label,
    "data-key": key }, text ?? label);
}

// --- search text: case- and (when the query has none) diacritic-insensitive, one char per char ---------

const foldCache = new Map();
function foldChar(c) {
  let f = foldCache.get(c);
  if (f === undefined) {
    f = c.toLocaleLowerCase("vi");
    const bare = f.normalize("NFD").replace(/\p{M}/gu, "").replace("đ", "d");
    f = { lower: f.length === 1 ? f : c, bare: bare.length === 1 ? bare : (f.length === 1 ? f : c) };
    foldCache.set(c, f);
  }
  return f;
}
function fold(text, bare) {
  let out = "";
  for (const c of text) {
    const f = foldChar(c);
    out += bare ? f.bare : f.lower;
  }
  return out;
}

// --- the reader ------------------------------------------------------------------------------------

class Reader {
  constructor(node) {
    this.root = node;
    this.documentId = Number(node.dataset.document);
    this.versions = JSON.parse(node.dataset.versions || "[]");
    this.version = Number(node.dataset.version);
    this.compareUrl = node.dataset.compareUrl;
    this.commentsUrl = node.dataset.commentsUrl;
    this.pdf = null;
    this.pages = []; // {n, el, canvasBox, textBox, width, height (pt), sized, rendered, task, text}
    this.scale = 1;
    this.mode = "page-width"; // "page-width" | "page-fit" | "custom"
    this.current = 1;
    this.near = new Set();
    this.renderOrder = []; // page numbers, most recently rendered last
    this.search = { query: "", bare: false, hit: null, pageHits: new Map() };
    this.comments = new Map(); // page → [comment]
    this.loadSeq = 0;
    this.build();
    // Another module (annotate.js: a note in its list) may ask the reader to show a page.
    node.addEventListener("reader:goto", (e) => this.goTo(Number(e.detail?.page)));
    this.bindKeys();
    this.bindTouch();
    const wanted = Number(new URLSearchParams(location.hash.slice(1)).get("page")) || 1;
    this.load(this.version, wanted);
    this.loadComments();
  }

  // ---- the frame ----
  build() {
    const versionSelect = el("select", { id: "reader-version", className: "reader__version",
      onchange: (e) => this.load(Number(e.target.value), 1) },
    this.versions.slice().reverse().map((v) => el("option", { value: v.number, selected: v.number === this.version },
      interpolate(gettext("Version %(n)s"), { n: v.number }, true)
      + (v.current ? ` (${gettext("current")})` : ""))));
    this.changesLink = el("a", { className: "btn btn--small", id: "reader-changes" }, gettext("What changed"));
    this.pageInput = el("input", { type: "number", id: "reader-page", className: "reader__page-input", min: 1,
      inputmode: "numeric", "aria-label": gettext("Go to page"),
      onchange: (e) => this.goTo(Number(e.target.value)),
      onkeydown: (e) => { if (e.key === "Enter") { e.preventDefault(); this.goTo(Number(e.target.value)); } } });
    this.pageCount = el("span", { className: "reader__count" });
    this.zoomLabel = el("span", { className: "reader__zoom-label", "aria-hidden": "true" });
    this.searchInput = el("input", { type: "search", id: "reader-search", className: "reader__search-input",
      "aria-label": gettext("Find in document"), placeholder: gettext("Find in document"),
      onkeydown: (e) => {
        if (e.key === "Enter") { e.preventDefault(); this.find(e.shiftKey ? -1 : 1); }
        if (e.key === "Escape") { this.clearSearch(); }
      },
      oninput: () => { if (!this.searchInput.value) this.clearSearch(); } });
    this.searchStatus = el("span", { className: "reader__search-status", role: "status", "aria-live": "polite" });
    this.announce = el("div", { className: "sr-only", role: "status", "aria-live": "polite", id: "reader-announce" });
    this.thumbToggle = el("button", { type: "button", className: "btn btn--small btn--icon reader__thumb-toggle",
      "aria-controls": "reader-thumbs", "aria-expanded": "true", "aria-label": gettext("Page thumbnails"),
      title: gettext("Page thumbnails"), onclick: () => this.toggleThumbs() }, "▤");

    const toolbar = el("div", { className: "reader__toolbar", role: "toolbar", "aria-label": gettext("Reader") },
      el("div", { className: "reader__group" }, this.thumbToggle,
        // One version only (or a ballot's draft): nothing to switch to, and the page head names it.
        this.versions.length > 1 ? [el("label", { className: "sr-only", for: "reader-version" }, gettext("Version")),
          versionSelect] : null,
        this.changesLink),
      el("div", { className: "reader__group" },
        button(gettext("Previous page"), () => this.goTo(this.current - 1), { text: "‹", key: "prev",
          className: "btn btn--small btn--icon" }),
        el("span", { className: "reader__pageof" }, this.pageInput, this.pageCount),
        button(gettext("Next page"), () => this.goTo(this.current + 1), { text: "›", key: "next",
          className: "btn btn--small btn--icon" })),
      el("div", { className: "reader__group" },
        button(gettext("Zoom out"), () => this.zoom(-1), { text: "−", key: "zoom-out", className: "btn btn--small btn--icon" }),
        this.zoomLabel,
        button(gettext("Zoom in"), () => this.zoom(1), { text: "+", key: "zoom-in", className: "btn btn--small btn--icon" }),
        button(gettext("Fit width"), () => this.fit("page-width"), { text: "↔", key: "fit-width",
          className: "btn btn--small btn--icon" }),
        button(gettext("Fit page"), () => this.fit("page-fit"), { text: "⤢", key: "fit-page",
          className: "btn btn--small btn--icon" })),
      el("form", { className: "reader__group reader__search", role: "search",
        onsubmit: (e) => { e.preventDefault(); this.find(1); } },
      this.searchInput,
      button(gettext("Previous match"), () => this.find(-1), { text: "▲", key: "find-prev", className: "btn btn--small btn--icon" }),
      button(gettext("Next match"), () => this.find(1), { text: "▼", key: "find-next", className: "btn btn--small btn--icon" }),
      this.searchStatus));

    this.thumbs = el("ol", { className: "reader__thumbs", id: "reader-thumbs", "aria-label": gettext("Pages") });
    this.stack = el("div", { className: "reader__stack" });
    this.scroller = el("div", { className: "reader__pages", tabindex: "0", role: "region",
      "aria-label": gettext("Document pages") },
      this.stack);
    this.error = el("div", { className: "reader__error", role: "alert", hidden: true });
    this.root.replaceChildren(toolbar, this.error,
      el("div", { className: "reader__body" }, this.thumbs, this.scroller), this.announce);
    this.root.hidden = false;
    this.root.classList.add("reader--ready");
    if (window.matchMedia("(max-width: 900px)").matches) this.toggleThumbs(false);

    let ticking = false;
    this.scroller.addEventListener("scroll", () => {
      if (ticking) return;
      ticking = true;
      requestAnimationFrame(() => { ticking = false; this.trackCurrent(); });
    }, { passive: true });
    new ResizeObserver(() => { if (this.pdf && this.mode !== "custom") this.fit(this.mode, true); })
      .observe(this.scroller);
  }

  toggleThumbs(show) {
    const open = show ?? this.thumbs.hidden;
    this.thumbs.hidden = !open;
    this.thumbToggle.setAttribute("aria-expanded", String(open));
    this.root.classList.toggle("reader--thumbs", open);
  }

  showError(message, retry) {
    this.error.replaceChildren(el("span", {}, message),
      retry ? button(gettext("Try again"), retry, { className: "btn btn--small" }) : null);
    this.error.hidden = false;
  }

  // ---- loading a version ----
  async load(number, page) {
    const version = this.versions.find((v) => v.number === number);
    if (!version) return;
    const seq = ++this.loadSeq;
    this.version = number;
    this.root.dataset.version = String(number);
    this.root.dataset.copyUrl = version.reader_url;
    this.error.hidden = true;
    this.updateChangesLink();
    if (this.pdf) { const old = this.pdf; this.pdf = null; old.destroy(); }
    this.observer?.disconnect();
    this.thumbObserver?.disconnect();
    this.pages = [];
    this.renderOrder = [];
    this.near.clear();
    this.search.pageHits.clear();
    this.search.hit = null;
    this.stack.replaceChildren(el("p", { className: "reader__loading" }, gettext("Loading the document…")));
    this.thumbs.replaceChildren();
    let pdf;
    try {
      pdf = await pdfjs.getDocument({
        url: version.reader_url,
        disableAutoFetch: true, // only the byte ranges of the pages drawn
        disableStream: true,
        rangeChunkSize: 65536,
        isEvalSupported: false, // no eval under our CSP (PDF.js 5 has no eval path; kept for 4.x)
        useWasm: false, // WebAssembly needs 'wasm-unsafe-eval': the JS image decoders are used
        wasmUrl: `${VENDOR}wasm/`,
        standardFontDataUrl: `${VENDOR}standard_fonts/`,
        enableXfa: false,
        enableScripting: false,
        disableFontFace: false,
      }).promise;
    } catch (error) {
      if (seq !== this.loadSeq) return;
      const busy = error?.status === 503;
      this.stack.replaceChildren();
      this.showError(busy ? gettext("Your copy of this document is still being prepared.")
        : error?.status === 404 ? gettext("This document is no longer available to you.")
          : gettext("The document could not be loaded."), () => this.load(number, page));
      if (busy) setTimeout(() => { if (seq === this.loadSeq && !this.pdf) this.load(number, page); }, 2000);
      return;
    }
    if (seq !== this.loadSeq) { pdf.destroy(); return; }
    this.pdf = pdf;
    const first = await pdf.getPage(1);
    const base = first.getViewport({ scale: 1 });
    this.layout(pdf.numPages, base.width, base.height);
    this.pages[0].proxy = first;
    this.sizePage(this.pages[0], base.width, base.height);
    this.fit(this.mode === "custom" ? "page-width" : this.mode, true);
    this.goTo(Math.min(Math.max(1, page), pdf.numPages), { instant: true });
    this.root.dispatchEvent(new CustomEvent("reader:document", { detail: { version: number, pages: pdf.numPages } }));
    if (this.search.query) this.find(1, { fromStart: true });
  }

  updateChangesLink() {
    const link = this.changesLink;
    if (this.version > 1 && this.compareUrl) {
      link.href = `${this.compareUrl}?from=${this.version - 1}&to=${this.version}`;
      link.hidden = false;
    } else {
      link.hidden = true;
      link.removeAttribute("href");
    }
  }

  layout(count, width, height) {
    this.pageInput.max = String(count);
    this.pageCount.textContent = interpolate(gettext("of %s"), [count]);
    const pages = [];
    const thumbs = [];
    for (let n = 1; n <= count; n++) {
      const canvasBox = el("div", { className: "reader-page__canvas" });
      const textBox = el("div", { className: "textLayer" });
      const node = el("div", { className: "reader-page", "data-page": n, role: "group",
        "aria-label": interpolate(gettext("Page %s"), [n]) }, canvasBox, textBox);
      const thumbCanvas = el("canvas", { className: "reader-thumb__canvas", "aria-hidden": "true" });
      const thumb = el("li", {}, el("button", { type: "button", className: "reader-thumb", "data-page": n,
        "aria-label": interpolate(gettext("Page %s"), [n]), onclick: () => this.goTo(n) },
      thumbCanvas, el("span", { className: "reader-thumb__number" }, n)));
      pages.push({ n, el: node, canvasBox, textBox, width, height, sized: false, rendered: 0, task: null,
        thumb, thumbCanvas, thumbDone: false, proxy: null });
      thumbs.push(thumb);
    }
    this.pages = pages;
    this.stack.replaceChildren(...pages.map((p) => p.el));
    this.thumbs.replaceChildren(...thumbs);
    this.drawComments();
    this.observer = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const n = Number(entry.target.dataset.page);
        if (entry.isIntersecting) this.near.add(n); else this.near.delete(n);
      }
      this.renderNear();
    }, { root: this.scroller, rootMargin: "50% 0px" });
    for (const p of pages) this.observer.observe(p.el);
    this.thumbObserver = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const page = this.pages[Number(entry.target.dataset.page) - 1];
        if (entry.isIntersecting) this.renderThumb(page);
        else if (page?.thumbDone && this.pages.filter((p) => p.thumbDone).length > KEEP_THUMBS) {
          page.thumbCanvas.width = 0; // a long paper: thumbnails far away give their memory back
          page.thumbCanvas.height = 0;
          page.thumbDone = false;
        }
      }
    }, { root: this.thumbs, rootMargin: "100px 0px" });
    for (const t of thumbs) this.thumbObserver.observe(t.firstChild);
  }

  sizePage(page, width, height) {
    page.width = width;
    page.height = height;
    page.sized = true;
    this.applySize(page);
  }

  applySize(page) {
    const w = Math.floor(page.width * this.scale);
    const h = Math.floor(page.height * this.scale);
    page.el.style.width = `${w}px`;
    page.el.style.height = `${h}px`;
    page.el.style.setProperty("--scale-factor", String(this.scale));
    page.el.style.setProperty("--total-scale-factor", String(this.scale));
  }

  // ---- zoom ----
  setScale(scale, mode = "custom") {
    const clamped = Math.min(4, Math.max(0.25, scale));
    this.mode = mode;
    if (Math.abs(clamped - this.scale) < 0.001 && this.pages.every((p) => p.rendered === clamped || !p.rendered)) {
      this.updateZoomLabel();
      return;
    }
    const anchor = this.pages[this.current - 1];
    const offset = anchor ? (this.scroller.scrollTop - anchor.el.offsetTop) / (anchor.el.offsetHeight || 1) : 0;
    this.scale = clamped;
    for (const p of this.pages) this.applySize(p);
    if (anchor) this.scroller.scrollTop = anchor.el.offsetTop + offset * anchor.el.offsetHeight;
    this.updateZoomLabel();
    this.renderNear();
  }

  updateZoomLabel() {
    const percent = `${Math.round(this.scale * 100)}%`;
    if (this.zoomLabel.textContent && this.zoomLabel.textContent !== percent) {
      this.announce.textContent = interpolate(gettext("Zoom %s"), [percent]);
    }
    this.zoomLabel.textContent = percent;
    this.root.dataset.scale = this.scale.toFixed(3);
    this.root.dataset.zoomMode = this.mode;
  }

  fit(mode, keep = false) {
    const page = this.pages[this.current - 1] || this.pages[0];
    if (!page) return;
    const style = getComputedStyle(this.scroller);
    const width = this.scroller.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 2;
    const height = this.scroller.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom) - 2;
    let scale = width / page.width;
    if (mode === "page-fit") scale = Math.min(scale, height / page.height);
    if (keep && mode === this.mode && Math.abs(scale - this.scale) < 0.01) return;
    this.setScale(scale, mode);
  }

  zoom(direction) {
    this.reveal();
    const now = this.scale;
    const next = direction > 0 ? ZOOMS.find((z) => z > now + 0.01) : [...ZOOMS].reverse().find((z) => z < now - 0.01);
    if (next) this.setScale(next);
  }

  // ---- navigation ----
  // The reader in full view (the page above it — title, banners — scrolls away while reading).
  reveal() {
    const box = this.root.getBoundingClientRect();
    if (box.top < 0 || box.bottom > window.innerHeight) this.root.scrollIntoView({ block: "nearest" });
  }

  goTo(n, { instant = false } = {}) {
    if (!this.pages.length || !Number.isFinite(n)) return;
    if (!instant) this.reveal();
    const page = this.pages[Math.min(Math.max(1, Math.round(n)), this.pages.length) - 1];
    this.scroller.scrollTo({ top: page.el.offsetTop - PAGE_GAP / 2, behavior: instant ? "instant" : "auto" });
    this.setCurrent(page.n);
  }

  trackCurrent() {
    const probe = this.scroller.scrollTop + Math.min(this.scroller.clientHeight / 3, 200);
    let lo = 0;
    let hi = this.pages.length - 1;
    while (lo < hi) { // the last page whose top is above the probe line
      const mid = (lo + hi + 1) >> 1;
      if (this.pages[mid].el.offsetTop <= probe) lo = mid; else hi = mid - 1;
    }
    if (this.pages[lo]) this.setCurrent(this.pages[lo].n);
  }

  setCurrent(n) {
    if (n === this.current && this.pageInput.value === String(n)) return;
    this.current = n;
    this.pageInput.value = String(n);
    this.root.dataset.page = String(n);
    for (const p of this.pages) {
      const on = p.n === n;
      const b = p.thumb.firstChild;
      if (on) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
    }
    const active = this.pages[n - 1]?.thumb;
    if (active && !this.thumbs.hidden) {
      const top = active.offsetTop - this.thumbs.offsetTop;
      if (top < this.thumbs.scrollTop || top + active.offsetHeight > this.thumbs.scrollTop + this.thumbs.clientHeight) {
        this.thumbs.scrollTop = top - this.thumbs.clientHeight / 3;
      }
    }
    history.replaceState(null, "", `#page=${n}`);
    clearTimeout(this.announceTimer);
    this.announceTimer = setTimeout(() => {
      this.announce.textContent = interpolate(gettext("Page %(page)s of %(count)s"),
        { page: n, count: this.pages.length }, true);
    }, 400);
  }

  // ---- rendering ----
  renderNear() {
    const wanted = [...this.near].sort((a, b) => Math.abs(a - this.current) - Math.abs(b - this.current));
    for (const n of wanted) this.renderPage(this.pages[n - 1]);
  }

  async getProxy(page) {
    if (!page.proxy) page.proxy = await this.pdf.getPage(page.n);
    if (!page.sized) {
      const vp = page.proxy.getViewport({ scale: 1 });
      this.sizePage(page, vp.width, vp.height);
    }
    return page.proxy;
  }

  async renderPage(page) {
    if (!page || !this.pdf || page.rendered === this.scale || page.busy) return;
    const pdf = this.pdf;
    page.busy = true;
    const scale = this.scale;
    try {
      const proxy = await this.getProxy(page);
      if (pdf !== this.pdf) return;
      const viewport = proxy.getViewport({ scale });
      let ratio = Math.min(window.devicePixelRatio || 1, 2);
      while (viewport.width * viewport.height * ratio * ratio > MAX_CANVAS_PIXELS && ratio > 0.5) ratio /= 1.5;
      const canvas = el("canvas", { className: "reader-page__image", "aria-hidden": "true" });
      canvas.width = Math.floor(viewport.width * ratio);
      canvas.height = Math.floor(viewport.height * ratio);
      canvas.style.width = `${Math.floor(viewport.width)}px`;
      canvas.style.height = `${Math.floor(viewport.height)}px`;
      page.task = proxy.render({ canvasContext: canvas.getContext("2d"), viewport,
        transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : null });
      await page.task.promise;
      if (pdf !== this.pdf) return;
      page.canvasBox.replaceChildren(canvas);
      page.text ??= await this.pageText(page);
      const textBox = el("div", { className: "textLayer" });
      const layer = new pdfjs.TextLayer({ textContentSource: page.text.content, container: textBox, viewport });
      await layer.render();
      if (pdf !== this.pdf) return;
      page.textBox.replaceWith(textBox);
      page.textBox = textBox;
      page.textDivs = layer.textDivs;
      page.rendered = scale;
      page.el.classList.add("reader-page--rendered");
      this.renderOrder = this.renderOrder.filter((n) => n !== page.n).concat(page.n);
      this.release();
      this.highlight(page, this.pendingHit === page.n);
      if (this.pendingHit === page.n) this.pendingHit = null;
      this.root.dispatchEvent(new CustomEvent("reader:page", { detail: {
        page: page.n, element: page.el, width: Math.floor(viewport.width), height: Math.floor(viewport.height) } }));
      if (this.scale !== scale && this.near.has(page.n)) { page.busy = false; this.renderPage(page); }
    } catch (error) {
      if (error?.name !== "RenderingCancelledException" && pdf === this.pdf) console.warn("reader: page", page.n, error);
    } finally {
      page.busy = false;
      page.task = null;
    }
  }

  release() {
    while (this.renderOrder.length > KEEP_RENDERED) {
      const far = this.renderOrder.find((n) => !this.near.has(n));
      if (far === undefined) break;
      this.renderOrder = this.renderOrder.filter((n) => n !== far);
      const page = this.pages[far - 1];
      const canvas = page.canvasBox.querySelector("canvas");
      if (canvas) { canvas.width = 0; canvas.height = 0; }
      page.canvasBox.replaceChildren();
      page.textBox.replaceChildren();
      page.textDivs = null;
      page.rendered = 0;
      page.el.classList.remove("reader-page--rendered");
      page.proxy?.cleanup();
    }
  }

  async renderThumb(page) {
    if (!page || page.thumbDone || !this.pdf) return;
    page.thumbDone = true;
    const pdf = this.pdf;
    try {
      const proxy = await this.getProxy(page);
      if (pdf !== this.pdf) return;
      const base = proxy.getViewport({ scale: 1 });
      const ratio = Math.min(window.devicePixelRatio || 1, 2);
      const viewport = proxy.getViewport({ scale: 96 / base.width });
      const canvas = page.thumbCanvas;
      canvas.width = Math.floor(viewport.width * ratio);
      canvas.height = Math.floor(viewport.height * ratio);
      canvas.style.width = `${Math.floor(viewport.width)}px`;
      canvas.style.height = `${Math.floor(viewport.height)}px`;
      await proxy.render({ canvasContext: canvas.getContext("2d"), viewport,
        transform: ratio !== 1 ? [ratio, 0, 0, ratio, 0, 0] : null }).promise;
    } catch (error) {
      page.thumbDone = false;
      if (pdf === this.pdf) console.warn("reader: thumbnail", page.n, error);
    }
  }

  // ---- search ----
  async pageText(page) {
    if (page.text) return page.text;
    const proxy = await this.getProxy(page);
    const content = await proxy.getTextContent();
    const strs = [];
    const starts = [];
    let text = "";
    for (const item of content.items) {
      if (item.str === undefined) continue;
      starts.push(text.length);
      strs.push(item.str);
      text += item.str + (item.hasEOL ? " " : "");
    }
    page.text = { content, strs, starts, text, folded: new Map() };
    return page.text;
  }

  matches(page) {
    const key = `${this.search.bare}:${this.search.query}`;
    let found = page.text.folded.get(key);
    if (!found) {
      const hay = fold(page.text.text, this.search.bare);
      found = [];
      for (let i = hay.indexOf(this.search.query); i >= 0; i = hay.indexOf(this.search.query, i + 1)) {
        found.push(i);
      }
      page.text.folded.set(key, found);
    }
    return found;
  }

  async find(direction, { fromStart = false } = {}) {
    const raw = this.searchInput.value.trim().normalize("NFC");
    if (!raw || !this.pdf) return;
    this.reveal();
    const bare = fold(raw, true) === fold(raw, false); // no diacritics typed: match with or without them
    const query = fold(raw, bare);
    const s = this.search;
    if (query !== s.query || bare !== s.bare) { s.query = query; s.bare = bare; s.hit = null; }
    const pdf = this.pdf;
    const count = this.pages.length;
    let pageIndex;
    let index;
    if (s.hit && !fromStart) { pageIndex = s.hit.page - 1; index = s.hit.index + direction; }
    else { pageIndex = this.current - 1; index = direction > 0 ? 0 : Infinity; }
    this.searchStatus.textContent = gettext("Searching…");
    for (let step = 0; step <= count; step++) {
      const page = this.pages[pageIndex];
      await this.pageText(page);
      if (pdf !== this.pdf || query !== s.query) return;
      const found = this.matches(page);
      if (index === Infinity) index = found.length - 1;
      if (index >= 0 && index < found.length) {
        const previous = s.hit;
        s.hit = { page: page.n, index };
        if (previous && previous.page !== page.n) this.highlight(this.pages[previous.page - 1]);
        this.searchStatus.textContent = interpolate(gettext("Match %(index)s of %(total)s on page %(page)s"),
          { index: index + 1, total: found.length, page: page.n }, true);
        this.root.dataset.searchPage = String(page.n);
        if (page.n !== this.current || !this.isVisible(page)) this.goTo(page.n);
        this.pendingHit = this.highlight(page, true) ? null : page.n; // not drawn yet: when it is
        return;
      }
      pageIndex = (pageIndex + direction + count) % count;
      index = direction > 0 ? 0 : Infinity;
    }
    s.hit = null;
    delete this.root.dataset.searchPage;
    this.searchStatus.textContent = gettext("No matches");
  }

  isVisible(page) {
    const top = page.el.offsetTop - this.scroller.scrollTop;
    return top >= 0 && top + page.el.offsetHeight <= this.scroller.clientHeight;
  }

  clearSearch() {
    const previous = this.search.hit;
    this.search.query = "";
    this.search.hit = null;
    this.searchStatus.textContent = "";
    delete this.root.dataset.searchPage;
    for (const p of this.pages) if (p.rendered && p.text) this.highlight(p);
    if (previous) this.highlight(this.pages[previous.page - 1]);
  }

  // Marks the search's matches on a drawn page (the current one stronger); true when the page was drawn.
  highlight(page, scrollTo = false) {
    if (!page?.textDivs || !page.text) return false;
    const { strs, starts } = page.text;
    page.textDivs.forEach((div, i) => { if (div.firstChild?.nodeType !== 3 || div.childNodes.length > 1) div.textContent = strs[i]; });
    if (!this.search.query) return true;
    const found = this.matches(page);
    const length = this.search.query.length;
    const perDiv = new Map(); // div index → [[from, to, current]]
    found.forEach((start, k) => {
      const current = this.search.hit && this.search.hit.page === page.n && this.search.hit.index === k;
      const end = start + length;
      for (let i = 0; i < starts.length; i++) {
        const s0 = starts[i];
        const s1 = s0 + strs[i].length;
        if (s1 <= start || s0 >= end) continue;
        if (!perDiv.has(i)) perDiv.set(i, []);
        perDiv.get(i).push([Math.max(start, s0) - s0, Math.min(end, s1) - s0, current]);
      }
    });
    let currentMark = null;
    for (const [i, ranges] of perDiv) {
      const div = page.textDivs[i];
      if (!div) continue;
      const str = strs[i];
      const parts = [];
      let at = 0;
      for (const [from, to, current] of ranges.sort((a, b) => a[0] - b[0])) {
        if (from > at) parts.push(str.slice(at, from));
        const mark = el("mark", { className: current ? "reader-hit reader-hit--current" : "reader-hit" }, str.slice(Math.max(from, at), to));
        if (current && !currentMark) currentMark = mark;
        parts.push(mark);
        at = Math.max(at, to);
      }
      if (at < str.length) parts.push(str.slice(at));
      div.replaceChildren(...parts);
    }
    if (scrollTo && currentMark) {
      const box = currentMark.getBoundingClientRect();
      const view = this.scroller.getBoundingClientRect();
      if (box.top < view.top || box.bottom > view.bottom) {
        this.scroller.scrollTop += box.top - view.top - view.height / 3;
      }
    }
    return true;
  }

  // ---- page comments (GET /api/v1/agenda-items/{id}/comments/: the item's comments I may see) ----
  async loadComments() {
    if (!this.commentsUrl) return;
    const all = [];
    let before = null;
    try {
      for (let i = 0; i < COMMENT_PAGES_MAX; i++) {
        const url = before ? `${this.commentsUrl}?before=${before}` : this.commentsUrl;
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const data = await response.json();
        all.unshift(...data.results);
        if (!data.earlier || !data.results.length) break;
        before = data.results[0].id;
      }
    } catch {
      return; // offline: the reader works without the comments
    }
    this.comments.clear();
    for (const c of all) {
      if (c.document !== this.documentId || !c.page || c.deleted) continue;
      if (!this.comments.has(c.page)) this.comments.set(c.page, []);
      this.comments.get(c.page).push(c);
    }
    this.drawComments();
  }

  drawComments() {
    for (const page of this.pages) {
      page.el.querySelector(".reader-page__comments")?.remove();
      page.thumb.querySelector(".reader-thumb__comments")?.remove();
      const list = this.comments.get(page.n);
      if (!list?.length) continue;
      const listId = `reader-comments-${page.n}`;
      const items = el("ol", { className: "reader-comments__list", id: listId, hidden: true },
        list.map((c) => el("li", { className: "reader-comments__item" },
          el("div", { className: "reader-comments__meta" }, el("strong", {}, c.author_name || c.author), " · ",
            el("time", { datetime: c.created_at }, new Date(c.created_at).toLocaleString(document.documentElement.lang || "vi",
              { dateStyle: "short", timeStyle: "short" }))),
          el("p", {}, c.text))));
      const label = interpolate(gettext("Comments on page %(page)s: %(count)s"), { page: page.n, count: list.length }, true);
      const marker = el("button", { type: "button", className: "reader-comments__marker", "aria-expanded": "false",
        "aria-controls": listId, "aria-label": label, title: label,
        onclick: (e) => {
          const open = items.hidden;
          items.hidden = !open;
          e.currentTarget.setAttribute("aria-expanded", String(open));
        } }, interpolate(gettext("%s comments"), [list.length]));
      page.el.append(el("aside", { className: "reader-page__comments" }, marker, items));
      page.thumb.firstChild.append(el("span", { className: "reader-thumb__comments", "aria-hidden": "true" }, String(list.length)));
    }
  }

  // ---- keyboard and touch ----
  bindKeys() {
    document.addEventListener("keydown", (e) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "f") {
        e.preventDefault();
        this.searchInput.focus();
        this.searchInput.select();
        this.reveal();
        return;
      }
      const target = e.target;
      if (target.closest?.("input, select, textarea, [contenteditable]")) return;
      // Inside the reader every navigation key is the reader's; with nothing focused (the page's body) only
      // ←/→ and +/− are, so that ↑/↓, PageUp/PageDown, Home/End still scroll the page itself.
      const inReader = this.root.contains(target);
      if (!inReader && (target !== document.body || !["ArrowLeft", "ArrowRight", "+", "=", "-"].includes(e.key))) return;
      if (e.altKey || e.ctrlKey || e.metaKey || !this.pages.length) return;
      const actions = {
        ArrowRight: () => this.goTo(this.current + 1), ArrowLeft: () => this.goTo(this.current - 1),
        PageDown: () => this.goTo(this.current + 1), PageUp: () => this.goTo(this.current - 1),
        Home: () => this.goTo(1), End: () => this.goTo(this.pages.length),
        ArrowDown: () => this.scroller.scrollBy(0, this.scroller.clientHeight / 10),
        ArrowUp: () => this.scroller.scrollBy(0, -this.scroller.clientHeight / 10),
        "+": () => this.zoom(1), "=": () => this.zoom(1), "-": () => this.zoom(-1),
      };
      const action = actions[e.key];
      if (!action || target.closest?.("button, a") && (e.key === "Enter" || e.key === " ")) return;
      e.preventDefault();
      action();
    });
  }

  bindTouch() {
    const scroller = () => this.scroller;
    let start = null;
    let pinch = null;
    const distance = (t) => Math.hypot(t[0].clientX - t[1].clientX, t[0].clientY - t[1].clientY);
    // While the annotation layer draws (annotate.js sets data-annot-mode), a finger draws: no swipe, no pinch.
    const drawing = () => Boolean(this.root.dataset.annotMode);
    this.root.addEventListener("touchstart", (e) => {
      if (!scroller().contains(e.target) || drawing()) { start = null; pinch = null; return; }
      if (e.touches.length === 2) {
        pinch = { d: distance(e.touches), scale: this.scale, ratio: 1 };
        start = null;
      } else if (e.touches.length === 1) {
        start = { x: e.touches[0].clientX, y: e.touches[0].clientY, t: Date.now() };
      }
    }, { passive: true });
    this.root.addEventListener("touchmove", (e) => {
      if (!pinch || e.touches.length !== 2) return;
      e.preventDefault();
      pinch.ratio = distance(e.touches) / pinch.d;
      this.stack.style.transform = `scale(${pinch.ratio})`;
    }, { passive: false });
    this.root.addEventListener("touchend", (e) => {
      if (pinch && e.touches.length < 2) {
        this.stack.style.transform = "";
        if (Math.abs(pinch.ratio - 1) > 0.05) this.setScale(pinch.scale * pinch.ratio);
        pinch = null;
        return;
      }
      if (!start || e.changedTouches.length !== 1) return;
      const dx = e.changedTouches[0].clientX - start.x;
      const dy = e.changedTouches[0].clientY - start.y;
      const wide = this.scroller.scrollWidth > this.scroller.clientWidth + 2; // zoomed in: a swipe pans
      if (!wide && Math.abs(dx) > 70 && Math.abs(dy) < 40 && Date.now() - start.t < 700) {
        this.goTo(this.current + (dx < 0 ? 1 : -1));
      }
      start = null;
    }, { passive: true });
  }
}

if (root) {
  window.ecabinetReader = new Reader(root);
}
