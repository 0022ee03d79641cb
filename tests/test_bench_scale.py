"""scripts/bench --scale, its pure parts: reading wrk's output, the Targets' verdicts, and rewriting
only the marked section of docs/performance.md. No load is generated here."""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


load = _script("bench_load")
scale = _script("bench_scale")
M = load.Measurement


def ok(rps=100.0, p95=50.0, p50=None) -> load.Measurement:
    return M(rps=rps, p50=p50 if p50 is not None else p95 / 2, p95=p95, p99=p95 * 1.5, statuses={200: int(rps * 10)})


def lua_line(**values) -> str:
    """The line scripts/bench_wrk.lua writes, from its own format string (Lua's %d/%.0f/%s are Python's)."""
    lua = (SCRIPTS / "bench_wrk.lua").read_text(encoding="utf-8")
    template = re.search(r'"(bench: [^"]+)\\n"', lua).group(1)
    return template % (values["requests"], values["duration_us"], values["p50_us"], values["p95_us"],
                       values["p99_us"], values["socket_errors"], values["timeouts"], values["statuses"])


def test_wrk_output_gives_p50_p95_p99_throughput_and_every_status():
    output = ("Running 10s test @ http://127.0.0.1:5099/cases\n  2 threads and 8 connections\n"
              + lua_line(requests=1500, duration_us=10_000_000, p50_us=41_200, p95_us=88_900, p99_us=130_000,
                         socket_errors=0, timeouts=0, statuses="200:1488,302:12") + "\n")
    result = load.parse_wrk(output)
    assert result.rps == pytest.approx(150.0)
    assert (result.p50, result.p95, result.p99) == (41.2, 88.9, 130.0)
    assert result.statuses == {200: 1488, 302: 12}
    assert result.non_2xx == 12 and result.failed
    assert result.problems() == "302×12"


def test_a_clean_run_is_not_failed_and_timeouts_are():
    clean = load.parse_wrk(lua_line(requests=20, duration_us=2_000_000, p50_us=1, p95_us=2, p99_us=3,
                                    socket_errors=0, timeouts=0, statuses="200:20"))
    assert not clean.failed and clean.problems() == ""
    timed_out = load.parse_wrk(lua_line(requests=2, duration_us=2_000_000, p50_us=1, p95_us=2, p99_us=3,
                                        socket_errors=1, timeouts=3, statuses="200:2"))
    assert timed_out.failed and timed_out.problems() == "errors×4"
    assert load.parse_wrk(lua_line(requests=0, duration_us=2_000_000, p50_us=0, p95_us=0, p99_us=0,
                                   socket_errors=0, timeouts=0, statuses="")).failed


def test_paths_go_on_the_wire_percent_encoded_once():
    assert load.url_path("/resources/search?q=돌봄&age=70") == "/resources/search?q=%EB%8F%8C%EB%B4%84&age=70"
    assert load.url_path("/directory?q=%EA%B9%80%EC%B9%98") == "/directory?q=%EA%B9%80%EC%B9%98"


def test_output_without_the_scripts_line_is_an_error_not_zero():
    with pytest.raises(ValueError):
        load.parse_wrk("Requests/sec: 100.00\n")


def test_rounds_give_medians_and_keep_every_bad_status():
    rounds = [M(10, 5, 50, 60, {200: 10}), M(30, 7, 90, 99, {200: 9, 500: 1}), M(20, 6, 70, 80, {200: 10})]
    merged = load.median_of(rounds)
    assert (merged.rps, merged.p50, merged.p95, merged.p99) == (20, 6, 70, 80)
    assert merged.statuses == {200: 29, 500: 1} and merged.failed


def _verdict(checks, target_start, where):
    found = [c for c in checks if c.target.startswith(target_start) and c.where.startswith(where)]
    assert len(found) == 1, (target_start, where, checks)
    return found[0]


SETS = ["s10k", "s1m"]


def test_fixed_tenant_p95_ratio_between_the_smallest_and_largest_set():
    summary = {("s10k", "app", "fixed", "cases"): ok(p95=100), ("s1m", "app", "fixed", "cases"): ok(p95=120),
               ("s10k", "app", "fixed", "home"): ok(p95=100), ("s1m", "app", "fixed", "home"): ok(p95=121)}
    checks = scale.verdicts(summary, {}, SETS)
    assert _verdict(checks, "fixed tenant", "cases").met
    assert not _verdict(checks, "fixed tenant", "home").met
    assert "1.21×" in _verdict(checks, "fixed tenant", "home").shown
    assert not [c for c in scale.verdicts(summary, {}, ["s1m"]) if c.target.startswith("fixed")]


def test_largest_tenant_list_pages_and_resource_search_latency():
    summary = {("s1m", "app", "largest", "cases"): ok(p95=150), ("s1m", "app", "largest", "clients"): ok(p95=151),
               ("s1m", "app", "largest", "case"): ok(p95=900),  # not a list page
               ("s1m", "app", "median", "resource_search"): ok(p95=100),
               ("s1m", "app", "largest", "resource_search"): ok(p95=101)}
    checks = scale.verdicts(summary, {}, SETS)
    assert _verdict(checks, "largest tenant", "cases, s1m").met
    assert not _verdict(checks, "largest tenant", "clients, s1m").met
    assert not [c for c in checks if c.where.startswith("case,")]
    assert _verdict(checks, "resource search", "median, s1m").met
    assert not _verdict(checks, "resource search", "largest, s1m").met


def test_median_list_pages_against_the_orm_ceiling_of_the_same_run():
    summary = {("s10k", "app", "median", "cases"): ok(rps=150), ("s10k", "app", "median", "clients"): ok(rps=149)}
    checks = scale.verdicts(summary, {"orm-rows": ok(rps=500)}, SETS)
    assert _verdict(checks, "median tenant", "cases, s10k").met
    assert not _verdict(checks, "median tenant", "clients, s10k").met
    assert not [c for c in scale.verdicts(summary, {}, SETS) if c.target.startswith("median")]


def test_rls_ratio_reports_the_worst_tenant_and_set_of_each_page():
    summary = {("s10k", "app", "median", "cases"): ok(rps=99), ("s10k", "bypass", "median", "cases"): ok(rps=100),
               ("s1m", "app", "largest", "cases"): ok(rps=9), ("s1m", "bypass", "largest", "cases"): ok(rps=10),
               ("s1m", "app", "fixed", "home"): ok(rps=95), ("s1m", "bypass", "fixed", "home"): ok(rps=100)}
    checks = scale.verdicts(summary, {}, SETS)
    worst = _verdict(checks, "RLS on", "cases")
    assert worst.where == "cases (largest, s1m)" and not worst.met and worst.shown.startswith("0.90")
    assert _verdict(checks, "RLS on", "home").met


def test_rls_ratio_shows_a_page_that_failed_for_one_tenant_even_if_another_ratio_is_worse():
    forbidden = M(rps=500, p50=1, p95=2, p99=3, statuses={403: 5000})
    summary = {("s1m", "app", "median", "cases"): forbidden, ("s1m", "bypass", "median", "cases"): ok(rps=100),
               ("s1m", "app", "largest", "cases"): ok(rps=96), ("s1m", "bypass", "largest", "cases"): ok(rps=100)}
    verdict = _verdict(scale.verdicts(summary, {}, SETS), "RLS on", "cases")
    assert verdict.where == "cases (median, s1m)" and not verdict.met and "403×5000" in verdict.shown


def test_a_page_that_did_not_answer_2xx_never_meets_a_target_however_fast():
    redirected = M(rps=5000, p50=1, p95=2, p99=3, statuses={302: 50000})
    summary = {("s1m", "app", "largest", "cases"): redirected, ("s1m", "app", "median", "resource_search"): redirected}
    checks = scale.verdicts(summary, {}, SETS)
    for check in checks:
        assert not check.met and "302×50000" in check.shown


def test_report_has_the_table_the_ceilings_and_each_verdict():
    summary = {("s10k", "app", "fixed", "cases"): ok(rps=80, p95=90), ("s10k", "bypass", "fixed", "cases"): ok(rps=100),
               ("s1m", "app", "fixed", "cases"): ok(rps=8, p95=1700)}
    ceilings = {"rows": ok(rps=1000), "orm-rows": ok(rps=500)}
    checks = scale.verdicts(summary, ceilings, SETS)
    context = {"date": "2026-12-05", "machine": "2 cores", "load": "wrk", "command": "scripts/bench --scale",
               "sets": {"s10k": "cases 10,000", "s1m": "cases 1,000,000"}, "ceiling_rows": {"rows": "50", "orm-rows": "50"}}
    text = scale.report(summary, ceilings, checks, SETS, context)
    assert "| cases | fixed | s10k | 80.0 | 45 ms | 90 ms | 135 ms | 100 | 50 ms | 0.80 |  |" in text
    assert "| cases | fixed | s1m | 8.0 | 850 ms | 1.70 s | 2.55 s |  |  |  |  |" in text
    assert "| 50-row Jinja page with a layout | 1000 |" in text
    assert "18.89× (90 → 1700 ms) | **NOT met** |" in text
    assert f"**0 of {len(checks)} met.**" in text


def test_a_page_with_no_answer_in_the_run_shows_no_latency_rather_than_zero():
    silent = M(rps=0.0, p50=0.0, p95=0.0, p99=0.0, statuses={})
    summary = {("s1m", "app", "median", "resource_search"): silent}
    context = {"date": "", "machine": "", "load": "", "command": "", "sets": {}, "ceiling_rows": {}}
    checks = scale.verdicts(summary, {}, SETS)
    assert "| resource_search | median | s1m | 0.0 | — | — | — |  |  |  | no answer within the run |" in \
        scale.report(summary, {}, checks, SETS, context)
    assert checks == [scale.Verdict("resource search p95 ≤ 100 ms", "median, s1m", "— (not 2xx: no answer within the run)", False)]


def test_docs_section_replaced_between_the_markers_only():
    first = scale.replace_section("", "## run one\n")
    assert scale.START in first and "## Why not met" in first and "## run one" in first
    edited = first.replace("it. This section is kept across runs.", "The case list scans every case (see EXPLAIN).")
    second = scale.replace_section(edited, "## run two\n")
    assert "## run two" in second and "## run one" not in second
    assert "The case list scans every case (see EXPLAIN)." in second
    assert second.index(scale.START) < second.index("## run two") < second.index(scale.END)
    assert second.startswith("# Performance")


def test_docs_without_markers_keep_their_text_and_gain_the_section():
    updated = scale.replace_section("# Notes\n\nWritten by hand.\n", "## run\n")
    assert updated.startswith("# Notes\n\nWritten by hand.\n")
    assert updated.rstrip().endswith(f"{scale.START}\n## run\n{scale.END}")


def test_manifest_given_by_path_is_matched_to_its_database(tmp_path):
    manifest = tmp_path / "elsewhere.json"
    manifest.write_text(json.dumps({"database": "hanaro_scale_x", "tenants": {}}), encoding="utf-8")
    assert scale.find_manifest("hanaro_scale_x", [str(manifest)]) == manifest
    with pytest.raises(SystemExit):
        scale.find_manifest("hanaro_scale_nowhere", [str(manifest)])
