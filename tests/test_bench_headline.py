"""The benchmark's headline (bench/headline.py): server CPU per unit of work against the raw
baseline and the issue-19 targets, read from the suites' result files, and the README block that
``python -m bench.run`` rewrites between its markers."""

from __future__ import annotations

import json
import sys

import pytest

from bench import headline
from bench.run import write_summary

MACHINE = {"cpu": "Test CPU", "cores": 2, "ram_gib": 1.0, "os": "Linux", "python": "3.11",
           "load_average_at_start": [0.1, 0.1, 0.1], "commit": "abc1234", "date": "2026-12-07T15:00:00+00:00"}


def _fan(n: int, ours_ms: float, base_ms: float) -> dict:
    def side(cpu: float) -> dict:
        return {"p50": 1.0, "p99": 2.0, "all_median_ms": 1.5, "write_median_ms": 1.0, "lost": 0,
                "server_cpu_ms_per_event": cpu, "client_cpu_max": 0.1, "client_lag_max_ms": 1.0, "client_bound": []}

    return {"n": n, "ecabinet": side(ours_ms), "baseline": side(base_ms), "ratio_p99": 1.0,
            "connect": {"ecabinet": {"seconds": 1.0, "retries": 0}, "baseline": {"seconds": 1.0, "retries": 0}}}


def _fanout(*steps) -> dict:
    return {"suite": "fanout", "machine": MACHINE, "cpu_clock": "posix", "server": "e-Cabinet (1 Daphne)",
            "database": "SQLite", "client_processes": 2, "rounds_per_size": 3, "lost": 0, "results": list(steps),
            "handshake": {"ecabinet": {"tablets": 1050, "server_cpu_ms_per_handshake": 4.0},
                          "baseline": {"tablets": 1050, "server_cpu_ms_per_handshake": 0.5}, "ratio": 8.0}}


def _endpoint(name: str, cpu: float, base_cpu: float, queries: int, p99: float) -> dict:
    return {"name": name, "p50": p99 / 2, "p99": p99, "max": p99, "req_per_s": 100.0, "sql_queries": queries,
            "bytes": 1000, "errors": 0, "server_cpu": 1.0, "server_cpu_ms_per_view": cpu, "client_bound": [],
            "cpu_ratio": cpu / base_cpu,
            "baseline": {"p50": 1.0, "p99": 2.0, "max": 2.0, "req_per_s": 900.0, "bytes": 1000, "errors": 0,
                         "server_cpu": 0.5, "server_cpu_ms_per_view": base_cpu, "client_bound": []}}


def _pages(small_queries: int, full_queries: int, agenda_cpu: float = 6.0) -> dict:
    sessions = [{"label": label, "session": label, "clients": 50, "requests_per_client": 5,
                 "endpoints": [_endpoint("agenda screen", agenda_cpu, 0.5, q, 120.0),
                               _endpoint("session API", 3.0, 0.4, 3, 80.0)]}
                for label, q in (("small", small_queries), ("full", full_queries))]
    from bench.pages import query_check

    return {"suite": "pages", "machine": MACHINE, "server": "e-Cabinet (1 Daphne)", "database": "SQLite",
            "baseline": "plain ASGI app on Daphne", "sessions": sessions, "queries": query_check(sessions)}


def _by_unit(rows: list[dict], start: str) -> dict:
    (row,) = [r for r in rows if r["unit"].startswith(start)]
    return row


def test_fanout_cpu_is_normalised_per_1000_recipients_and_judged_against_the_baseline():
    rows = headline.rows({"fanout": _fanout(_fan(50, 2.0, 1.0), _fan(1000, 40.0, 20.0))})
    at_1000 = _by_unit(rows, "server CPU ms per event per 1,000 recipients")
    assert (at_1000["ecabinet"], at_1000["baseline"], at_1000["ratio"]) == (40.0, 20.0, 2.0)
    assert at_1000["met"] is False  # 2× > 1.5×
    at_50 = _by_unit(rows, "server CPU ms per event (fan-out, N = 50)")
    assert (at_50["ecabinet"], at_50["baseline"], at_50["ratio"], at_50["met"]) == (2.0, 1.0, 2.0, True)

    rows = headline.rows({"fanout": _fanout(_fan(50, 4.0, 1.0), _fan(500, 10.0, 5.0))})
    assert _by_unit(rows, "server CPU ms per event (fan-out, N = 50)")["met"] is False  # 4× > 3×
    assert _by_unit(rows, "server CPU ms per event per 1,000")["status"] == "not measured (N = 50, 500)"
    # N = 500: 10 ms per event to 500 tablets is 20 ms per 1,000
    rows = headline.rows({"fanout": _fanout(_fan(1000, 10.0, 5.0))})
    assert _by_unit(rows, "server CPU ms per event per 1,000")["ecabinet"] == 10.0
    rows = headline.rows({"fanout": _fanout(_fan(500, 10.0, 5.0), _fan(1000, 30.0, 20.0))})
    assert _by_unit(rows, "server CPU ms per event per 1,000")["met"] is True  # 1.5×


def test_pages_rows_judge_cpu_queries_that_stay_constant_and_p99():
    rows = headline.rows({"pages": _pages(7, 7)})
    agenda = _by_unit(rows, "server CPU ms per page view: agenda screen")
    assert (agenda["ecabinet"], agenda["baseline"], agenda["ratio"], agenda["met"]) == (6.0, 0.5, 12.0, True)
    queries = _by_unit(rows, "SQL queries per page view: agenda screen")
    assert (queries["ecabinet"], queries["met"]) == ("7 / 7", True)
    assert _by_unit(rows, "p99 ms, agenda screen")["met"] is True

    rows = headline.rows({"pages": _pages(6, 8, agenda_cpu=12.0)})
    assert _by_unit(rows, "SQL queries per page view: agenda screen")["met"] is False  # grows with the session
    assert _by_unit(rows, "server CPU ms per page view: agenda screen")["met"] is False  # 12 ms ≥ 10 ms
    assert _by_unit(headline.rows({"pages": _pages(9, 9)}), "SQL queries per page view: agenda")["met"] is False


def test_a_suite_not_run_reads_not_run():
    rows = headline.rows({})
    assert rows and all(r["status"] == headline.NOT_RUN for r in rows)
    table = headline.markdown(rows)
    assert table.count("| not run |") == len(rows)


def test_the_readme_block_is_replaced_between_its_markers_only():
    text = f"intro\n{headline.BEGIN}\nold figures\n{headline.END}\nafter\n"
    new = headline.replace_block(text, "| new | table |")
    assert new == f"intro\n{headline.BEGIN}\n| new | table |\n{headline.END}\nafter\n"
    assert headline.replace_block(new, "| new | table |") == new
    assert headline.replace_block("no markers here", "x") is None
    assert headline.replace_block(text + headline.BEGIN, "x") is None
    assert headline.replace_block(f"{headline.END}\n{headline.BEGIN}", "x") is None


def test_write_summary_puts_the_headline_in_summary_and_readme(tmp_path, monkeypatch, capsys):
    # As under `make test`, without the benchmark packages (make bench-deps): the text is written,
    # the chart is not, and the run says so.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    results = tmp_path / "bench" / "results"
    results.mkdir(parents=True)
    (results / "pages.json").write_text(json.dumps(_pages(5, 5)), encoding="utf-8")
    readme = tmp_path / "README.md"
    readme.write_text(f"# Project\n\n## Benchmarks\n\n{headline.BEGIN}\nstale\n{headline.END}\n\n## Status\n",
                      encoding="utf-8")

    summary = write_summary(results, readme).read_text(encoding="utf-8")

    assert summary.index("## Headline") < summary.index("## pages")
    assert "| server CPU ms per page view: agenda screen | 6.00 | 0.50" in summary
    assert not (results / "headline.png").exists()
    assert "headline.png not redrawn: matplotlib is not installed" in capsys.readouterr().out
    text = readme.read_text(encoding="utf-8")
    assert "stale" not in text and text.endswith("## Status\n")
    assert "| SQL queries per page view: agenda screen (small / full session) | 5 / 5 |" in text
    assert "| server CPU ms per vote (vote storm) | not run |" in text
    assert "headline.png" not in text  # no chart drawn, none linked
    assert "commit abc1234 — Test CPU, 2 cores" in text

    untouched = tmp_path / "OTHER.md"
    untouched.write_text("no markers\n", encoding="utf-8")
    write_summary(results, untouched)
    assert untouched.read_text(encoding="utf-8") == "no markers\n"


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_write_summary_draws_the_headline_chart(tmp_path):
    pytest.importorskip("matplotlib", reason="a benchmark package: make bench-deps")
    results = tmp_path / "bench" / "results"
    results.mkdir(parents=True)
    (results / "pages.json").write_text(json.dumps(_pages(5, 5)), encoding="utf-8")

    readme = tmp_path / "README.md"
    readme.write_text(f"{headline.BEGIN}\n{headline.END}\n", encoding="utf-8")

    write_summary(results, readme)

    assert (results / "headline.png").read_bytes().startswith(b"\x89PNG")
    assert "![headline: server CPU per unit of work](bench/results/headline.png)" in readme.read_text(encoding="utf-8")


def _assembly(agenda_queries: int) -> dict:
    def phase(cpu: float) -> dict:
        return {"tablets": 500, "connected": 500, "failed": 0, "retries": 0, "seconds": 20.0,
                "open_ms": {"p50": 10.0, "p99": 30.0, "max": 40.0}, "server_cpu_ms_per_handshake": cpu,
                "bytes_on_connect": {"max": 250_000, "min": 250_000}}

    return {"suite": "assembly", "machine": MACHINE, "size": 500, "database": "SQLite",
            "paced": phase(6.0), "burst": {**phase(5.0), "failed": 12, "connected": 488},
            "baseline_paced": phase(0.5),
            "pages": {"clients": 50, "endpoints": [_endpoint("agenda screen", 7.0, 0.5, agenda_queries, 150.0),
                                                   _endpoint("session API", 3.0, 0.4, 3, 90.0)]},
            "storm": {"size": 500, "database": "SQLite", "server_cpu_ms_per_vote": 1.5, "exactly_once": True,
                      "ack": {"p99": 400.0}, "tally_after_last_ack_ms": -3.0, "result_after_close_ms": 200.0}}


def test_the_assembly_joins_the_query_counts_and_gives_the_handshake_with_its_snapshot():
    rows = headline.rows({"pages": _pages(7, 7), "assembly": _assembly(7)})
    queries = _by_unit(rows, "SQL queries per page view: agenda screen")
    assert queries["unit"].endswith("(small / full session / assembly of 500)")
    assert (queries["ecabinet"], queries["met"]) == ("7 / 7 / 7", True)
    grown = _by_unit(headline.rows({"pages": _pages(7, 7), "assembly": _assembly(9)}),
                     "SQL queries per page view: agenda screen")
    assert (grown["ecabinet"], grown["met"]) == ("7 / 7 / 9", False)  # grows with the participants
    handshake = _by_unit(rows, "server CPU ms per handshake + snapshot")
    assert "250,000 bytes" in handshake["unit"] and (handshake["ecabinet"], handshake["ratio"]) == (6.0, 12.0)
    vote = _by_unit(rows, "server CPU ms per vote")  # no votes.json: the assembly's storm
    assert (vote["ecabinet"], vote["source"]) == (1.5, "assembly")
    table = headline.assembly_table(_assembly(7))
    assert "| 500 tablets connect all at once, one try each |" in table and "488 of 500" in table
    assert "12 dropped" in table and "before the last answer" in table
