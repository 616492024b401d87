// The tablets' SeqTracker (static/room/state.js) on the cases of tests/room/test_seq_tracker_parity.py:
// stdin: [{"start": seq, "steps": [["event", {seq, prev?}] | ["resumed", head], ...]}, ...];
// stdout: per case, per step, [applied seqs, resume, seq, resuming, buffered seqs] — which the
// Python SeqTracker (bench/tablet.py) must give too.
import { readFileSync } from "node:fs";
import { SeqTracker } from "../../static/room/state.js";

const cases = JSON.parse(readFileSync(0, "utf8"));
const traces = cases.map(({ start, steps }) => {
  const t = new SeqTracker(start);
  return steps.map(([kind, arg]) => {
    const out = kind === "event" ? t.accept(arg) : t.resumed(arg);
    const buffered = [...t.buffer.keys()].sort((a, b) => a - b);
    return [out.apply.map((e) => e.seq), Boolean(out.resume), t.seq, t.resuming, buffered];
  });
});
process.stdout.write(JSON.stringify(traces));
