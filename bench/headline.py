"""The headline of ``make bench`` (issue 19): the server's CPU per unit of work — per event per
1,000 recipients, per page view, per vote, per handshake — beside the raw baseline measured in the
same run, with the targets, plus the query counts and the p99 the targets name. Built from
whichever result files exist in bench/results/ (a suite not run reads "not run"); written at the top
of bench/results/summary.md, drawn in bench/results/headline.png, and copied into README.md between
the ``<!-- bench:headline -->`` and ``<!-- /bench:headline -->`` markers.

No measuring here: only reading the suites' JSON files, so the same figures appear everywhere.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from .common import fmt, machine_line

BEGIN, END = "<!-- bench:headline -->", "<!-- /bench:headline -->"
NOT_RUN = "not run"
FANOUT_TARGETS = {1000: 1.5, 50: 3.0}  # e-Cabinet / baseline CPU per event (bench.fanout.CPU_TARGETS)
PAGE_CPU_MS, PAGE_QUERIES, PAGE_P99_MS = 10, 8, 300  # bench.pages targets
SOURCES = ["fanout", "pages", "votes", "assembly"]  # the suites the headline reads
CHART_SUITES = ["fanout", "pages", "votes", "assembly", "memory", "minutes", "hostile", "reader", "tasks", "storm"]


def load(results_dir: Path, suffix: str = "") -> dict[str, dict]:
    """Every suite's latest result file (``<suite><suffix>.json``) in ``results_dir``, by suite."""
    out = {}
    for path in sorted(Path(results_dir).glob(f"*{suffix}.json")):
        name = path.stem[:len(path.stem) - len(suffix)] if suffix else path.stem
        if not suffix and name.endswith("-cluster"):
            continue
        try:
            out[name] = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
    return out


def _row(unit: str, source: str, ours=None, base=None, *, target: str = "—", met: bool | None = None,
         note: str = "", status: str | None = None) -> dict:
    ratio = round(ours / base, 2) if isinstance(ours, int | float) and isinstance(base, int | float) and base else None
    return {"unit": unit, "source": source, "ecabinet": ours, "baseline": base, "ratio": ratio, "target": target,
            "met": met, "note": note, "status": status}


def _missing(unit: str, source: str, why: str = NOT_RUN, target: str = "—") -> dict:
    return _row(unit, source, target=target, status=why)


def _fanout_rows(payload: dict | None) -> list[dict]:
    rows = []
    for n, per_thousand in ((1000, True), (50, False)):
        unit = (f"server CPU ms per event per 1,000 recipients (fan-out, N = {n:,})" if per_thousand
                else f"server CPU ms per event (fan-out, N = {n})")
        target = f"≤ {FANOUT_TARGETS[n]:g}× baseline"
        if payload is None:
            rows.append(_missing(unit, "fanout", target=target))
            continue
        step = next((r for r in payload.get("results", []) if r["n"] == n), None)
        if step is None:
            measured = ", ".join(str(r["n"]) for r in payload.get("results", []))
            rows.append(_missing(unit, "fanout", f"not measured (N = {measured})", target))
            continue
        ours, base = (step["ecabinet"]["server_cpu_ms_per_event"], step["baseline"]["server_cpu_ms_per_event"])
        if per_thousand:
            ours, base = round(ours * 1000 / n, 2), round(base * 1000 / n, 2)
        note = "" if payload.get("cpu_clock") else "CPU read in 10 ms clock ticks over the rounds: coarse"
        row = _row(unit, "fanout", ours, base, target=target, note=note)
        row["met"] = None if row["ratio"] is None else row["ratio"] <= FANOUT_TARGETS[n]
        rows.append(row)
    return rows


def _page_endpoint(payload: dict, name: str, label: str | None = None) -> dict | None:
    from .pages import sessions_of

    sessions = sessions_of(payload)
    session = next((s for s in sessions if s.get("label") == label), None) if label else sessions[-1]
    return next((e for e in (session or {}).get("endpoints", []) if e["name"] == name), None)


def _cpu_per_view(e: dict) -> float | None:
    if e.get("server_cpu_ms_per_view") is not None:
        return e["server_cpu_ms_per_view"]
    if e.get("server_cpu") is not None and e.get("req_per_s"):  # a result file from before: CPU share / req/s
        return round(e["server_cpu"] / e["req_per_s"] * 1000, 2)
    return None


def _pages_rows(payload: dict | None, assembly: dict | None = None) -> list[dict]:
    rows = []
    for name in ("agenda screen", "session API"):
        unit = f"server CPU ms per page view: {name}"
        target = f"< {PAGE_CPU_MS} ms"
        e = payload and _page_endpoint(payload, name)
        if not e:
            rows.append(_missing(unit, "pages", target=target))
        else:
            ours = _cpu_per_view(e)
            base = (e.get("baseline") or {}).get("server_cpu_ms_per_view")
            rows.append(_row(unit, "pages", ours, base, target=target, met=None if ours is None else ours < PAGE_CPU_MS,
                             note="plain ASGI app on Daphne, same bytes" if base is not None
                             else "not in this result file"))
    for name in ("agenda screen", "session API"):
        unit = f"SQL queries per page view: {name} (small / full session)"
        target = f"≤ {PAGE_QUERIES}, constant"
        q = (payload or {}).get("queries", {}).get(name)
        extra = next((e["sql_queries"] for e in ((assembly or {}).get("pages") or {}).get("endpoints", [])
                      if e["name"] == name), None)
        if q:
            counts = [*q["counts"], *([extra] if extra is not None else [])]
            if extra is not None:
                unit = (f"SQL queries per page view: {name} (small / full session / assembly of "
                        f"{assembly['size']})")
            rows.append(_row(unit, "pages", " / ".join(map(str, counts)), target=target,
                             met=max(counts) <= PAGE_QUERIES and len(set(counts)) == 1))
        elif payload and _page_endpoint(payload, name):
            count = _page_endpoint(payload, name)["sql_queries"]
            rows.append(_row(unit, "pages", f"{count} (one session)", target=target,
                             met=False if count > PAGE_QUERIES else None))
        else:
            rows.append(_missing(unit, "pages", target=target))
    for name in ("agenda screen", "session API"):
        e = payload and _page_endpoint(payload, name)
        clients = next((s["clients"] for s in reversed(_sessions(payload))), 50) if payload else 50
        unit = f"p99 ms, {name}, {clients} concurrent clients"
        target = f"< {PAGE_P99_MS} ms"
        if not e:
            rows.append(_missing(unit, "pages", target=target))
        else:
            rows.append(_row(unit, "pages", e["p99"], (e.get("baseline") or {}).get("p99"), target=target,
                             met=e["p99"] is not None and e["p99"] < PAGE_P99_MS))
    return rows


def _sessions(payload: dict | None) -> list[dict]:
    from .pages import sessions_of

    return sessions_of(payload) if payload else []


def _vote_row(payload: dict | None, assembly: dict | None = None) -> dict:
    unit = "server CPU ms per vote (vote storm)"
    runs = [r for r in (payload or {}).get("runs", []) if r.get("server_cpu_ms_per_vote") is not None]
    source = "votes"
    if not runs and assembly and assembly.get("storm", {}).get("server_cpu_ms_per_vote") is not None:
        runs, source = [assembly["storm"]], "assembly"
    if not runs:
        return _missing(unit, "votes", "not in this result file (run the suite again)" if payload else NOT_RUN)
    run = max(runs, key=lambda r: (r["size"], r["database"] == "SQLite"))
    return _row(f"server CPU ms per vote (storm of {run['size']}, {run['database']}, {source} suite)", source,
                run["server_cpu_ms_per_vote"], note="none: see bench/README.md")


def _handshake_rows(fanout: dict | None, assembly: dict | None) -> list[dict]:
    rows = []
    unit = "server CPU ms per handshake (fan-out connect, resume)"
    hs = (fanout or {}).get("handshake")
    if fanout is None:
        rows.append(_missing(unit, "fanout"))
    elif not hs or hs["ecabinet"]["server_cpu_ms_per_handshake"] is None:
        rows.append(_missing(unit, "fanout", "not in this result file (run the suite again)"))
    else:
        rows.append(_row(unit, "fanout", hs["ecabinet"]["server_cpu_ms_per_handshake"],
                         hs["baseline"]["server_cpu_ms_per_handshake"]))
    if assembly is None:
        rows.append(_missing("server CPU ms per handshake + snapshot (assembly)", "assembly"))
    else:
        rows.append(_row(f"server CPU ms per handshake + snapshot of {assembly['paced']['bytes_on_connect']['max']:,} "
                         f"bytes (assembly of {assembly['size']})", "assembly",
                         assembly["paced"]["server_cpu_ms_per_handshake"],
                         assembly["baseline_paced"]["server_cpu_ms_per_handshake"]))
    return rows


def rows(results: dict[str, dict]) -> list[dict]:
    """The headline's rows from the suites' payloads (``load``); a suite missing reads "not run"."""
    assembly = results.get("assembly")
    return [*_fanout_rows(results.get("fanout")), *_pages_rows(results.get("pages"), assembly),
            _vote_row(results.get("votes"), assembly), *_handshake_rows(results.get("fanout"), assembly)]


def assembly_table(payload: dict | None) -> str:
    """The assembly's figures (snapshot, connect, pages, vote storm) as a Markdown table."""
    if not payload:
        return ""
    n = payload["size"]

    def connect(c: dict) -> str:
        o = c["open_ms"]
        return (f"p50 {fmt(o['p50'])} / p99 {fmt(o['p99'])} / max {fmt(o['max'])} ms; {c['connected']} of "
                f"{c['tablets']} in {fmt(c['seconds'])} s, {c['failed']} dropped, {c['retries']} retries")

    s = payload["storm"]
    lines = [f"| assembly of {n} ({payload['database']}) | figure |", "|---|---|",
             f"| snapshot a tablet receives on connect | {payload['paced']['bytes_on_connect']['max']:,} bytes |",
             f"| {n} tablets connect, 4 at a time (TCP connect → snapshot) | {connect(payload['paced'])} |",
             f"| {n} tablets connect all at once, one try each | {connect(payload['burst'])} |"]
    for e in payload["pages"]["endpoints"]:
        lines.append(f"| {e['name']}, {payload['pages']['clients']} concurrent clients | p99 {fmt(e['p99'])} ms, "
                     f"{fmt(e['server_cpu_ms_per_view'])} ms server CPU per view, {e['sql_queries']} SQL queries |")
    tally = s["tally_after_last_ack_ms"]
    tally = ("before the last answer" if tally is not None and tally <= 0
             else f"{fmt(tally)} ms after the last answer")
    lines.append(f"| vote storm of {n} | ack p99 {fmt(s['ack']['p99'])} ms, final tally on every tablet "
                 f"{tally}, result "
                 f"{fmt(s['result_after_close_ms'])} ms after the close; exactly once: "
                 f"{'yes' if s['exactly_once'] else '**no**'}; "
                 f"{fmt(s['server_cpu_ms_per_vote'])} ms server CPU per vote |")
    return "\n".join(lines)


def _cell(value) -> str:
    return fmt(value) if not isinstance(value, str) else value


def markdown(table_rows: list[dict]) -> str:
    lines = ["| unit of work | e-Cabinet | raw baseline | ratio | target | met? |", "|---|---:|---:|---:|---|---|"]
    for r in table_rows:
        if r["status"]:
            lines.append(f"| {r['unit']} | {r['status']} | — | — | {r['target']} | — |")
            continue
        ratio = f"{fmt(r['ratio'])}×" if r["ratio"] is not None else "—"
        met = "—" if r["met"] is None else ("yes" if r["met"] else "**no**")
        if r["baseline"] is None:
            base = r["note"] or "—"
        else:
            base = _cell(r["baseline"]) + (f" ({r['note']})" if r["note"] else "")
        ours = _cell(r["ecabinet"])
        lines.append(f"| {r['unit']} | {ours} | {base} | {ratio} | {r['target']} | {met} |")
    return "\n".join(lines)


def sources(results: dict[str, dict]) -> list[str]:
    """One line per suite the headline reads: when, on which machine, at which commit, quick or not."""
    out = []
    for name in SOURCES:
        p = results.get(name)
        if p:
            m = p["machine"]
            out.append(f"{name}: {m['date']}{' (quick run)' if p.get('quick') else ''}, commit "
                       f"{m.get('commit') or '?'} — {machine_line(m)}")
    return out


def section(results: dict[str, dict], results_dir: Path, link_prefix: str = "") -> str:
    """The headline in Markdown: the table, where each figure comes from, and one chart per suite
    (``link_prefix``: the path of bench/results/ from the file it goes into)."""
    parts = [markdown(rows(results)), ""]
    if results.get("assembly"):
        parts += [assembly_table(results["assembly"]), ""]
    src = sources(results)
    if src:
        parts += ["Figures from the latest result file of each suite:", "", *[f"- {s}" for s in src], ""]
    if (Path(results_dir) / "headline.png").exists():
        parts += [f"![headline: server CPU per unit of work]({link_prefix}headline.png)", ""]
    for name in CHART_SUITES:
        if (Path(results_dir) / f"{name}.png").exists():
            parts += [f"![{name}]({link_prefix}{name}.png)", ""]
    return "\n".join(parts).rstrip() + "\n"


def replace_block(text: str, block: str) -> str | None:
    """``text`` with what is between the markers replaced by ``block``; None when the markers are
    not there (in order, once each)."""
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(END) < text.index(BEGIN):
        return None
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{block.strip()}\n{END}{tail}"


def update_readme(readme: Path, block: str) -> bool:
    """Rewrite the marked block of ``readme``; False (file untouched) when the markers are missing."""
    text = readme.read_text(encoding="utf-8")
    new = replace_block(text, block)
    if new is None:
        return False
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return True


def chart(table_rows: list[dict], info: dict):
    """Grouped bars, e-Cabinet against the baseline, for each CPU row with a figure (log scale),
    with the target marked where it is a bound in milliseconds or a ratio to the baseline."""
    from .common import BASELINE, OURS, figure

    cpu = [r for r in table_rows if r["unit"].startswith("server CPU") and isinstance(r["ecabinet"], int | float)]
    fig, (ax,) = figure(1, width=10, height=5)
    if not cpu:
        ax.text(0.5, 0.5, "no CPU figures yet: run make bench", ha="center", va="center")
        ax.set_axis_off()
        return fig
    xs = range(len(cpu))
    ours = [max(r["ecabinet"], 1e-3) for r in cpu]
    base = [max(r["baseline"], 1e-3) if isinstance(r["baseline"], int | float) else 0 for r in cpu]
    ax.bar([x - 0.2 for x in xs], ours, 0.4, label="e-Cabinet", color=OURS)
    ax.bar([x + 0.2 for x in xs], base, 0.4, label="raw baseline (same run)", color=BASELINE)
    for x, r in zip(xs, cpu, strict=True):
        bound = None
        if r["target"].startswith("< ") and r["target"].endswith(" ms"):
            bound = float(r["target"][2:-3])
        elif r["target"].startswith("≤ ") and "× baseline" in r["target"] and isinstance(r["baseline"], int | float):
            bound = float(r["target"][2:r["target"].index("×")]) * r["baseline"]
        if bound:
            ax.hlines(bound, x - 0.45, x + 0.45, colors="k", linestyles="--", linewidth=1,
                      label="target" if "target" not in ax.get_legend_handles_labels()[1] else None)
        label = f"{r['ratio']:g}×" if r["ratio"] is not None else ""
        ax.text(x, max(ours[x], base[x] or 0), label, ha="center", va="bottom", fontsize=8)
    # Wrapped so that neighbouring labels do not run into each other.
    short = ["\n".join(textwrap.wrap(r["unit"].replace("server CPU ms per ", ""), 22)) for r in cpu]
    ax.set_xticks(list(xs), short, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("server CPU, milliseconds")
    ax.set_title("Server CPU per unit of work: e-Cabinet and the raw baseline")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig
