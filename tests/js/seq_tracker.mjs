// The tablets' SeqTracker (static/room/state.js) against the protocol's sequencing cases
// (docs/protocol.md §2): next seq, "prev" over numbers that are not for this client, jumps that
// resume, replays that overlap. Exits non-zero on the first failure (run by tests/cluster/test_tracker_js.py).
import assert from "node:assert/strict";
import { SeqTracker } from "../../static/room/state.js";

const seqs = (events) => events.map((e) => e.seq);

{
  // The next seq applies; a jump buffers and asks to resume; "resumed" applies the buffer in order.
  const t = new SeqTracker(10);
  assert.deepEqual(seqs(t.accept({ seq: 11 }).apply), [11]);
  const jump = t.accept({ seq: 14 });
  assert.deepEqual([seqs(jump.apply), jump.resume], [[], true]);
  assert.deepEqual(seqs(t.accept({ seq: 12 }).apply), []); // replayed while resuming
  const done = t.resumed(13);
  assert.deepEqual([seqs(done.apply), done.resume, t.seq], [[12, 14], false, 14]);
}
{
  // "prev" at or below the last applied seq: the numbers between are not for us. No resume.
  const t = new SeqTracker(10);
  assert.deepEqual(seqs(t.accept({ seq: 13, prev: 10 }).apply), [13]);
  assert.deepEqual(seqs(t.accept({ seq: 20, prev: 13 }).apply), [20]);
  // A prev above what we have is a jump like any other.
  const jump = t.accept({ seq: 25, prev: 22 });
  assert.equal(jump.resume, true);
  assert.deepEqual(seqs(t.resumed(24).apply), [25]);
  assert.equal(t.seq, 25);
}
{
  // Buffered events with prev drain in order once their predecessor is there.
  const t = new SeqTracker(10);
  t.accept({ seq: 15, prev: 12 }); // jump: resume
  t.accept({ seq: 18, prev: 15 });
  const done = t.resumed(12);
  assert.deepEqual(seqs(done.apply), [15, 18]);
  assert.equal(done.resume, false);
}
{
  // Old and duplicate events are dropped, with or without prev.
  const t = new SeqTracker(10);
  assert.deepEqual(seqs(t.accept({ seq: 9, prev: 3 }).apply), []);
  assert.deepEqual(seqs(t.accept({ seq: 11, prev: 10 }).apply), [11]);
  assert.deepEqual(seqs(t.accept({ seq: 11, prev: 10 }).apply), []);
}
process.stdout.write("ok\n");
