// The session state reducer: applies one room event to the state of a snapshot.
//
// Contract (docs/protocol.md): for every event kind, snapshot(seq=N) + the visible events after N,
// applied in order with applyEvent, equals snapshot(seq=M). The server tests this with Node
// (tests/test_room_events_converge.py), so this file is the one reducer shared by the tablet client
// and the tests. Every case is an idempotent upsert or replacement: applying an event twice, or
// applying one already reflected in the snapshot, changes nothing.
//
// Pure: no DOM, no network, no clock.

function byPosition(a, b) { return a.position - b.position || a.id - b.id; }
function byId(a, b) { return a.id - b.id; }

function upsert(list, value, key, order) {
  const index = list.findIndex((x) => x[key] === value[key]);
  if (index >= 0) list[index] = value; else list.push(value);
  if (order) list.sort(order);
}

function findItem(meeting, id) { return meeting.agenda.find((item) => item.id === id); }

// Paged comments (docs/protocol.md §5): the snapshot carries the newest ``comments_per_item`` visible
// comments of each item and ``comment_counts[item] = {total, omitted}`` for the items with any.
function commentCounts(meeting, itemId) {
  meeting.comment_counts = meeting.comment_counts || {};
  const key = String(itemId);
  meeting.comment_counts[key] = meeting.comment_counts[key] || { total: 0, omitted: 0 };
  return meeting.comment_counts[key];
}

// A new comment joins its item's window; beyond the limit the oldest leave it.
function commentPosted(meeting, comment) {
  if (meeting.comments.some((c) => c.id === comment.id)) {
    upsert(meeting.comments, comment, "id", byId);
    return;
  }
  upsert(meeting.comments, comment, "id", byId);
  const counts = commentCounts(meeting, comment.agenda_item);
  counts.total += 1;
  const limit = meeting.comments_per_item;
  const mine = meeting.comments.filter((c) => c.agenda_item === comment.agenda_item);
  if (limit && mine.length > limit) {
    const leaving = new Set(mine.slice(0, mine.length - limit).map((c) => c.id));
    meeting.comments = meeting.comments.filter((c) => !leaving.has(c.id));
  }
  counts.omitted = counts.total - Math.min(mine.length, limit || mine.length);
}

// An event that carries an item's whole window (a document gained or lost) replaces it.
function replaceWindow(meeting, itemId, comments, count) {
  meeting.comments = meeting.comments.filter((c) => c.agenda_item !== itemId);
  comments.forEach((comment) => upsert(meeting.comments, comment, "id", byId));
  meeting.comment_counts = meeting.comment_counts || {};
  if (count && count.total) meeting.comment_counts[String(itemId)] = { total: count.total, omitted: count.omitted };
  else delete meeting.comment_counts[String(itemId)];
}

export function applyEvent(meeting, event) {
  const d = event.data || {};
  switch (event.kind) {
    case "meeting.status":
      meeting.status = d.status;
      break;
    case "agenda.current":
      meeting.current_item = d.item;
      break;
    case "agenda_item.status": {
      const item = findItem(meeting, d.item);
      if (item) item.status = d.status;
      break;
    }
    case "agenda_item.added": {
      const existing = findItem(meeting, d.item.id);
      upsert(meeting.agenda, { ...d.item, documents: existing ? existing.documents : [] }, "id", byPosition);
      break;
    }
    case "agenda.reordered":
      d.order.forEach((id, index) => { const item = findItem(meeting, id); if (item) item.position = index + 1; });
      meeting.agenda.sort(byPosition);
      break;
    case "document.published": {
      const item = findItem(meeting, d.item);
      if (item) upsert(item.documents, d.document, "id", byId);
      // Newly given a document: the item's comment window as the reader now sees it.
      if (d.comment_count) replaceWindow(meeting, d.item, d.comments || [], d.comment_count);
      else (d.comments || []).forEach((comment) => upsert(meeting.comments, comment, "id", byId));
      break;
    }
    case "document.withdrawn":
      // No longer a reader: the document goes, and so do the comments made on it.
      meeting.agenda.forEach((item) => { item.documents = item.documents.filter((doc) => doc.id !== d.document); });
      meeting.comments = meeting.comments.filter((comment) => comment.document !== d.document);
      if (d.comment_count) replaceWindow(meeting, d.item, d.comments || [], d.comment_count);
      break;
    case "comment.posted":
      commentPosted(meeting, d.comment);
      break;
    case "comment.edited":
    case "comment.deleted":
      // Only a comment in the window changes here; an older one is shown from its HTTP page.
      if (meeting.comments.some((c) => c.id === d.comment.id)) upsert(meeting.comments, d.comment, "id", byId);
      break;
    case "speaker.queue": {
      const key = String(d.item);
      if (d.queue.length) meeting.speakers[key] = d.queue;
      else delete meeting.speakers[key];
      // Finished turns beyond the latest few are counted, not listed (docs/protocol.md §4).
      meeting.speakers_spoken = meeting.speakers_spoken || {};
      if (d.spoken) meeting.speakers_spoken[key] = d.spoken;
      else delete meeting.speakers_spoken[key];
      break;
    }
    case "position.changed": {
      const key = String(d.item);
      meeting.positions[key] = meeting.positions[key] || {};
      meeting.positions[key][d.username] = d.position;
      break;
    }
    case "participant.added":
    case "participant.changed":
    case "attendance.changed":
      upsert(meeting.participants, d.participant, "username", byId);
      break;
    case "participant.removed":
      meeting.participants = meeting.participants.filter((p) => p.username !== d.username);
      break;
    case "presence.changed":
      if (meeting.presence) {
        const online = new Set(meeting.presence);
        if (d.online) online.add(d.username); else online.delete(d.username);
        meeting.presence = [...online].sort();
      }
      break;
    case "motion.created":
    case "motion.opened":
    case "motion.closed": {
      // The motion as everyone sees it; the caller's own vote (my_vote) comes only by vote.mine.
      meeting.motions = meeting.motions || [];
      const existing = meeting.motions.find((m) => m.id === d.motion.id);
      upsert(meeting.motions, { ...d.motion, my_vote: existing ? existing.my_vote : null }, "id", byId);
      break;
    }
    case "vote.tally": {
      const motion = (meeting.motions || []).find((m) => m.id === d.motion);
      if (motion) { const { motion: _id, ...tally } = d; motion.tally = tally; }
      break;
    }
    case "vote.mine": {
      const motion = (meeting.motions || []).find((m) => m.id === d.motion);
      if (motion) motion.my_vote = d.my_vote;
      break;
    }
    case "meeting.voting_rules":
      meeting.voting_rules = d.voting_rules;
      break;
    default:
      // Unknown kinds come from newer servers: ignore them rather than break the tablet.
      break;
  }
  return meeting;
}

// Sequence bookkeeping for the socket client: decides what to do with each incoming message.
//
// An event applies when it is the next one: seq + 1, or a later one whose "prev" is at or below the
// last applied seq (the server says the numbers between are not for this client, or were superseded
// by this very event). Anything else is a jump: buffer it and resume (docs/protocol.md §2).
export class SeqTracker {
  constructor(seq) { this.seq = seq; this.buffer = new Map(); this.resuming = false; }

  follows(event) {
    return event.seq === this.seq + 1 || (event.prev !== undefined && event.prev <= this.seq && event.seq > this.seq);
  }

  // Returns the events that can be applied now, in order, and whether a resume must be sent.
  accept(event) {
    if (event.seq <= this.seq) return { apply: [], resume: false };
    if (this.follows(event) && !this.resuming) {
      this.seq = event.seq;
      return { apply: [event, ...this.drain()], resume: false };
    }
    if (this.resuming) {
      // During a resume, replayed events arrive in order below the buffered ones.
      if (event.seq > this.seq) { this.buffer.set(event.seq, event); }
      return { apply: [], resume: false };
    }
    this.buffer.set(event.seq, event);
    this.resuming = true;
    return { apply: [], resume: true };
  }

  // "resumed" M: every visible event up to M has been sent; apply the buffer in order.
  resumed(head) {
    const ordered = [...this.buffer.keys()].sort((a, b) => a - b);
    const apply = [];
    for (const seq of ordered) {
      if (seq <= head && seq > this.seq) { apply.push(this.buffer.get(seq)); this.seq = seq; this.buffer.delete(seq); }
      else if (seq <= this.seq) this.buffer.delete(seq);
    }
    this.seq = Math.max(this.seq, head);
    this.resuming = false;
    const more = this.drain();
    return { apply: [...apply, ...more], resume: this.buffer.size > 0 && (this.resuming = true) };
  }

  // The buffered events that now follow, in order.
  drain() {
    const out = [];
    for (const seq of [...this.buffer.keys()]) if (seq <= this.seq) this.buffer.delete(seq);
    for (;;) {
      const next = Math.min(...this.buffer.keys());
      if (!Number.isFinite(next) || !this.follows(this.buffer.get(next))) break;
      this.seq = next;
      out.push(this.buffer.get(next));
      this.buffer.delete(next);
    }
    return out;
  }
}
