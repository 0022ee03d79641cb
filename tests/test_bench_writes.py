"""scripts/bench --writes, its pure parts: summing the measuring processes' reports (throughput,
percentiles, statements and Redis round trips per operation), choosing a referral's receiver among
the sender's partners, the report's table and the data set it names. No load is generated here."""
from __future__ import annotations

import random

import pytest

from .test_bench_scale import _script

writes = _script("bench_writes")


def process(latencies, errors=0, started=100.0, ended=102.0, statements=0, redis=0):
    return {"started": started, "ended": ended, "latencies": latencies, "errors": errors,
            "ops": len(latencies) + errors, "statements": statements, "redis": redis}


def test_two_processes_add_up_over_the_wall_time_both_spent():
    first = process([0.010] * 100, started=100.0, ended=102.0, statements=1100, redis=100)
    second = process([0.020] * 98, errors=2, started=100.5, ended=104.0, statements=1080, redis=98)
    result = writes.summarise([first, second], load=3.5)
    assert result["ops"] == 198 and result["errors"] == 2
    assert result["per_second"] == pytest.approx(198 / 4.0)
    assert result["statements"] == pytest.approx(2180 / 200)  # failed operations sent statements too
    assert result["redis"] == pytest.approx(198 / 200)
    assert result["p50"] == pytest.approx(0.010) and result["p95"] == pytest.approx(0.020)
    assert result["load"] == 3.5


def test_a_run_where_everything_failed_has_no_latency_rather_than_zero():
    result = writes.summarise([process([], errors=5, statements=40)])
    assert result["ops"] == 0 and result["per_second"] == 0.0
    assert result["p50"] is None and result["p95"] is None
    assert result["statements"] == 8.0


def test_a_referral_goes_to_a_partner_of_the_sender_when_it_has_one():
    rng = random.Random(1)
    partners = {1: [7, 9]}
    assert {writes.receiver_for(1, partners, [1, 2, 3, 7, 9], rng) for _ in range(50)} == {7, 9}


def test_a_sender_without_partners_refers_to_any_other_tenant_never_itself():
    rng = random.Random(1)
    chosen = {writes.receiver_for(2, {1: [7]}, [1, 2, 3], rng) for _ in range(50)}
    assert chosen == {1, 3}


def test_report_names_the_data_set_and_shows_counts_per_operation():
    class Args:
        database = "s6writes_10k"

    sizes = {"tenants": 1000, "users": 5298, "cases": 10000, "clients": 10000, "access_log": 5}
    result = writes.summarise([process([0.005] * 10, statements=117, redis=10)], load=2.0)
    text = writes.report(Args, {("referrals", 1): result}, [], sizes)
    assert "`s6writes_10k` (scale seed: 1 000 tenants, 5 298 users, 10 000 clients, 10 000 cases)" in text
    row = next(line for line in text.splitlines() if line.startswith("| send a referral"))
    assert [cell.strip() for cell in row.strip("|").split("|")] == [
        "send a referral (+ outbox row, enqueue)", "1", "10", "5.0", "5.0 ms", "5.0 ms", "0", "11.7", "1.0", "2.0"]


def test_a_set_without_a_manifest_is_named_alone():
    assert writes.dataset("hwrites_syn", {}) == "`hwrites_syn`"


def test_the_manifest_gives_the_roles_when_it_names_them():
    assert writes.manifest_roles({"roles": {"app": "a", "owner": "o"}}) == {"app_role": "a", "owner_role": "o"}
    assert writes.manifest_roles({}) == {"app_role": None, "owner_role": None}
