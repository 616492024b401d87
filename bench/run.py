"""Run the benchmarks: ``python -m bench.run [--suite fanout,votes,minutes,pages,memory,hostile,reader,tasks,
assembly,storm] [--quick] [--cluster]``. Each suite prints a table and writes bench/results/<suite>.json and .png;
then the headline (server CPU per unit of work, bench/headline.py) goes to the top of bench/results/summary.md,
bench/results/headline.png and README.md's marked block."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

from . import headline
from .common import RESULTS, ROOT, machine_info, machine_line, save_figure, write_json
from .context import Context

SUITES = ["fanout", "votes", "minutes", "pages", "memory", "hostile", "reader", "tasks", "assembly", "storm"]
CLUSTER_SUITES = ["fanout", "votes", "memory"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default=None,
                        help=f"comma-separated, from {','.join(SUITES)} (default: all; with --cluster: "
                             f"{','.join(CLUSTER_SUITES)})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer rounds (a smoke run)")
    parser.add_argument("--cluster", action="store_true",
                        help="against the scaled-out topology (deploy.cluster: Daphne workers behind nginx, "
                             "PostgreSQL, Redis)")
    parser.add_argument("--workers", type=int, default=2, help="Daphne processes in the cluster (default 2)")
    parser.add_argument("--client-procs", type=int, default=max(2, os.cpu_count() or 2),
                        help="client processes (default: the number of cores, at least 2)")
    parser.add_argument("--pg-admin-url", default=os.environ.get("PG_ADMIN_URL",
                                                                 "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL") or None,
                        help="Redis for --cluster (default: a private redis-server on a free port)")
    parser.add_argument("--ping-interval", type=float, default=20,
                        help="seconds between a tablet's pings (default 20, as docs/protocol.md asks; 0: none)")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL runs of the vote storm")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark databases (debugging)")
    parser.add_argument("--sizes", default=None,
                        help="comma-separated sizes for the fan-out and vote storm suites instead of their own "
                             "(e.g. 500,1000), to measure one size again")
    parser.add_argument("--summary-only", action="store_true",
                        help="run nothing: rewrite summary.md, headline.png and README.md's headline from the "
                             "result files in bench/results/")
    args = parser.parse_args(argv)
    if args.summary_only:
        summary = write_summary()
        print(f"→ {summary.relative_to(ROOT)}, bench/results/headline.png, README.md (headline block)")
        return 0

    names = [s.strip() for s in (args.suite or ",".join(CLUSTER_SUITES if args.cluster else SUITES)).split(",")
             if s.strip()]
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        parser.error(f"unknown suite(s): {', '.join(unknown)}")

    info = machine_info()
    ctx = Context(quick=args.quick, cluster=args.cluster, client_procs=args.client_procs, workers=args.workers,
                  pg_admin_url=args.pg_admin_url, redis_url=args.redis_url, keep=args.keep,
                  no_postgres=args.no_postgres, ping_interval=args.ping_interval, info=info,
                  sizes=[int(x) for x in args.sizes.split(",") if x.strip()] if args.sizes else None)
    print(f"bench: {machine_line(info)}")
    print(f"bench: suites {', '.join(names)}{' (quick)' if args.quick else ''}"
          f"{' against the cluster' if args.cluster else ''}; {args.client_procs} client processes; tablets ping every "
          f"{args.ping_interval:g} s", flush=True)
    if info["load_average_at_start"][0] > 0.5 * (info["cores"] or 1):
        print(f"bench: NOTE the machine is already busy (load average {info['load_average_at_start'][0]}): "
              "figures will be noisy")

    failures = []
    reports = []
    with ctx.stack:
        for name in names:
            module = importlib.import_module(f"bench.{name}")
            started = time.monotonic()
            print(f"\n== {name} ==", flush=True)
            try:
                payload = module.run(ctx)
            except Exception:
                traceback.print_exc()
                failures.append(f"{name}: crashed")
                continue
            payload = {"suite": name, "quick": args.quick, "cluster": args.cluster,
                       "client_processes": args.client_procs, "ping_interval": args.ping_interval,
                       "seconds": round(time.monotonic() - started, 1), "machine": info, **payload}
            out = f"{name}{ctx.suffix}"
            json_path = write_json(out, payload)
            png_path = save_figure(module.chart(payload, info), out, info)
            text = module.report(payload)
            reports.append(text)
            print(text)
            print(f"→ {json_path.relative_to(RESULTS.parent.parent)}, {png_path.relative_to(RESULTS.parent.parent)}")
            if not payload.get("ok", True):
                failures.append(f"{name}: {payload.get('failure') or 'a correctness check failed'}")

    summary = write_summary()
    print("\n" + "=" * 100)
    print(f"Machine: {machine_line(info)}")
    for text in reports:
        print("\n" + text)
    print("\nHeadline: server CPU per unit of work (from the latest result file of each suite)\n"
          + headline.markdown(headline.rows(headline.load(RESULTS))))
    print(f"\n→ {summary.relative_to(RESULTS.parent.parent)} (every suite's latest tables, for the README), "
          "bench/results/headline.png, README.md's headline block")
    if failures:
        print("\nFAILED: " + "; ".join(failures))
        return 1
    return 0


def write_summary(results_dir: Path = RESULTS, readme: Path = ROOT / "README.md") -> Path:
    """bench/results/summary.md: the headline (server CPU per unit of work, against the raw
    baselines and the targets), then the latest tables of every suite and topology found in
    bench/results/, with the machine each was taken on and the charts; headline.png; and the
    headline block of README.md (between its markers, when it has them)."""
    results = headline.load(results_dir)
    head_rows = headline.rows(results)
    sources = [results[n] for n in headline.SOURCES if n in results]
    if sources:
        newest = max(sources, key=lambda p: p["machine"]["date"])["machine"]
        try:
            save_figure(headline.chart(head_rows, newest), "headline", newest, results_dir)
        except ModuleNotFoundError as exc:  # matplotlib is a benchmark package (make bench-deps)
            print(f"bench: headline.png not redrawn: {exc.name} is not installed (make bench-deps)")
    parts = ["# Benchmark results", "", "Written by `python -m bench.run` from the JSON files in this folder; "
             "see bench/README.md for what each number means.", "",
             "## Headline: server CPU per unit of work", "", headline.section(results, results_dir), ""]
    for name in SUITES:
        module = importlib.import_module(f"bench.{name}")
        for suffix in ("", "-cluster"):
            path = results_dir / f"{name}{suffix}.json"
            if not path.exists():
                continue
            payload = json.loads(path.read_text(encoding="utf-8"))
            quick = " (quick run)" if payload.get("quick") else ""
            parts += [f"## {name}{suffix}{quick}", "",
                      f"{payload['machine']['date']} — {machine_line(payload['machine'])}", "",
                      "```", module.report(payload), "```", "", f"![{name}{suffix}]({name}{suffix}.png)", ""]
    path = results_dir / "summary.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    if readme.exists():
        prefix = Path(os.path.relpath(Path(results_dir).resolve(), readme.parent.resolve())).as_posix() + "/"
        headline.update_readme(readme, headline.section(results, results_dir, link_prefix=prefix))
    return path


if __name__ == "__main__":
    sys.exit(main())
