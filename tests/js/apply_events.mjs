// Applies room events to snapshots with the tablets' own reducer (static/room/state.js).
// stdin: [{"state": <snapshot.meeting>, "events": [<event>, ...]}, ...]; stdout: [<state>, ...]
import { readFileSync } from "node:fs";
import { applyEvent } from "../../static/room/state.js";

const cases = JSON.parse(readFileSync(0, "utf8"));
const results = cases.map(({ state, events }) => {
  for (const event of events) applyEvent(state, event);
  return state;
});
process.stdout.write(JSON.stringify(results));
