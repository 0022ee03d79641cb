"""The campaign checks on a designed data set: which nominations are flagged and why; idempotent
re-checks (resolved flags stay resolved, flags that no longer apply are cleared and come back when
they do); quota arithmetic; the resident registry adapter; household keys that mean nothing
outside their organiser."""
from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from hanaro.campaigns import checks, service
from hanaro.campaigns.models import Flag, FlagKind, Nomination, NominationKey
from hanaro.campaigns.resident_registry import Change, CsvResidentRegistry, EmptyRegistry, resident_registry
from hanaro.clients.models import Client
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.core.rules import RuleViolation

from .campaign_world import CampaignWorld, born, rrn_for

D = FlagKind


@pytest.fixture
def w(make):
    return CampaignWorld(make)


def _registry_csv(tmp_path, rows):
    path = tmp_path / "registry.csv"
    path.write_text("rrn,change,changed_on,region_code\n" + "".join(f"{','.join(r)}\n" for r in rows), encoding="utf-8")
    return str(path)


def _delivered_campaign(w, tenant, client, category="kimjang"):
    """An earlier campaign of the organiser that delivered to ``client``'s household today."""
    campaign_id = w.campaign(nominators=[(tenant, None)], category=category, title=f"지난 {category}")
    nomination = w.nominate(tenant, campaign_id, client).nomination
    with w.acting(w.organiser) as actor:
        campaign = service.get_campaign_or_404(campaign_id)
        service.close_nominations(campaign, actor)
        service.accept(service.get_nomination_or_404(nomination.public_id), actor)
        service.finalise(campaign, actor)
        service.record_delivery(service.get_nomination_or_404(nomination.public_id),
                                {"status": "delivered", "delivered_on": clock.today()}, actor)
        service.complete(campaign, actor)
    return nomination.public_id


class Designed:
    """Twelve nominations by three agencies, each built to trip (or not) one check."""

    def __init__(self, w, app, tmp_path, monkeypatch):
        r = {n: rrn_for(born(1930 + n)) for n in range(1, 12)}
        monkeypatch.setitem(app.config, "RESIDENT_REGISTRY_CSV", _registry_csv(tmp_path, [
            (r[8], "사망", "2026-10-01", ""),  # n7: deceased
            (r[9].replace("-", ""), "moved_out", "2026-06-01", w.outside.code),  # n8: moved out of the district
            (r[10], "전출", "2025-01-01", w.outside.code),  # n9: moved out, then back into the district
            (r[10], "전입", "2026-03-01", w.d2.code),
            ("123", "사망", "2026-01-01", ""),  # unreadable: skipped
        ]))
        # Earlier deliveries: kimjang to n10's person (counts), heating to n3's person (another category),
        # kimjang to n9's person 400 days before the campaign opens (too long ago).
        _delivered_campaign(w, w.c, w.client(w.c, w.d2, r[11]))
        _delivered_campaign(w, w.a, w.client(w.a, w.d1, r[3]), category="heating")
        old = _delivered_campaign(w, w.b, w.client(w.b, w.d3, r[10]))
        with w.acting(w.organiser):
            db.session.execute(update(Nomination).where(Nomination.public_id == old).values(
                delivered_on=clock.today() - timedelta(days=400)))
        self.campaign_id = w.campaign(nominators=[(w.a, 2), (w.b, None), (w.c, None)],
                                      dong_quotas=[{"dong": w.d1.code, "quota": 2}])
        c1 = w.client(w.c, w.d2, r[6])
        w.member_of(w.c, c1, r[7])
        address = "서울 성동구 왕십리로 10, 1동 101호"
        plan = [  # name: (tenant, client, priority)
            ("n1", w.a, w.client(w.a, w.d1, r[1]), "normal"),
            ("n2", w.a, w.client(w.a, w.d1, r[2]), "urgent"),
            ("n3", w.a, self._own(w, w.a, r[3]), "normal"),
            ("n4", w.b, w.client(w.b, w.d1, r[1]), "normal"),  # the same person as n1
            ("n5", w.b, w.client(w.b, w.d2, r[7]), "normal"),  # a member of n6's household
            ("n6", w.c, c1, "normal"),
            ("n7", w.c, w.client(w.c, w.d2, r[8]), "normal"),
            ("n8", w.b, w.client(w.b, w.d3, r[9]), "normal"),
            ("n9", w.b, self._own(w, w.b, r[10]), "normal"),
            ("n10", w.b, w.client(w.b, w.d2, r[11]), "normal"),
            ("n11", w.a, w.client(w.a, w.d2, address=address), "normal"),  # no number; same address as n12
            ("n12", w.c, w.client(w.c, w.d2, address="서울성동구 왕십리로10 1동101호"), "normal"),
        ]
        self.ids = {name: w.nominate(tenant, self.campaign_id, client, priority).nomination.public_id
                    for name, tenant, client, priority in plan}
        self.names = {public_id: name for name, public_id in self.ids.items()}

    @staticmethod
    def _own(w, tenant, number):
        """The tenant's existing client with this number (it nominated them before)."""
        with w.acting(tenant, commit=False):
            return db.session.scalar(select(Client).where(Client.tenant_id == tenant.id,
                                                          Client.rrn_masked == number[:8] + "******"))


@pytest.fixture
def designed(w, app, tmp_path, monkeypatch):
    return Designed(w, app, tmp_path, monkeypatch)


def _flags(w, designed, status=None):
    with w.acting(w.organiser, commit=False):
        rows = service.flags_of(service.get_campaign_or_404(designed.campaign_id), status)
        return {(designed.names[f.nomination.public_id], f.kind): (f.status.value, f.details, f.id) for f in rows}


def _open(w, designed):
    found: dict[str, set] = {name: set() for name in designed.ids}
    for (name, kind), (status, _, _) in _flags(w, designed).items():
        if status == "open":
            found[name].add(kind)
    return found


EXPECTED = {
    "n1": {D.DUPLICATE}, "n2": set(), "n3": {D.OVER_DONG_QUOTA, D.OVER_NOMINATOR_QUOTA},
    "n4": {D.DUPLICATE, D.OVER_DONG_QUOTA}, "n5": {D.DUPLICATE}, "n6": {D.DUPLICATE}, "n7": {D.DECEASED},
    "n8": {D.MOVED_OUT}, "n9": set(), "n10": {D.CONCENTRATION}, "n11": {D.DUPLICATE, D.OVER_NOMINATOR_QUOTA},
    "n12": {D.DUPLICATE},
}


def test_each_check_flags_exactly_the_nominations_built_to_trip_it(w, designed):
    summary = w.as_organiser(service.run_checks, designed.campaign_id)
    assert _open(w, designed) == EXPECTED
    assert summary.open == {"duplicate": 6, "over_dong_quota": 2, "over_nominator_quota": 2, "deceased": 1,
                            "moved_out": 1, "concentration": 1}
    flags = _flags(w, designed)
    assert flags[("n3", D.OVER_NOMINATOR_QUOTA)][1] == {"quota": 2, "rank": 3}
    assert flags[("n11", D.OVER_NOMINATOR_QUOTA)][1] == {"quota": 2, "rank": 4}
    assert flags[("n4", D.OVER_DONG_QUOTA)][1] == {"dong_code": w.d1.code, "quota": 2}
    assert flags[("n7", D.DECEASED)][1] == {"on": "2026-10-01"}
    assert flags[("n10", D.CONCENTRATION)][1] == {"days": 365, "category": "kimjang"}


def test_the_organiser_reads_why_in_korean_and_with_whom(w, designed):
    w.as_organiser(service.run_checks, designed.campaign_id)
    with w.acting(w.organiser, commit=False):
        reasons = {(designed.names[f.nomination.public_id], f.kind): service.flag_reason(f)
                   for f in service.flags_of(service.get_campaign_or_404(designed.campaign_id))}
        n5 = service.get_nomination_or_404(designed.ids["n5"])
        assert [(designed.names[m.nomination.public_id], m.same_person) for m in service.duplicates_of(n5)] == \
            [("n6", False)]  # the same household, not the same person
        n10 = service.get_nomination_or_404(designed.ids["n10"])
        assert [(c.title, on) for c, on in service.received_before(n10)] == [("지난 kimjang", clock.today())]
    assert reasons[("n3", D.OVER_DONG_QUOTA)] == "성수1가1동 배정 한도(2가구)를 넘는 추천입니다."
    assert reasons[("n3", D.OVER_NOMINATOR_QUOTA)] == "추천 기관 한도(2가구)를 넘는 추천입니다 (3번째)."
    assert reasons[("n7", D.DECEASED)] == "주민등록상 사망(2026-10-01)으로 확인됩니다."
    assert reasons[("n8", D.MOVED_OUT)] == "주민등록상 관할 지역 밖으로 전출(2026-06-01)한 것으로 확인됩니다."
    assert reasons[("n10", D.CONCENTRATION)] == "최근 365일 안에 같은 종류(김장)의 지원을 받은 가구입니다."
    assert reasons[("n1", D.DUPLICATE)] == "같은 사람 또는 가구를 다른 기관도 추천했습니다: 성동종합사회복지관"
    assert reasons[("n12", D.DUPLICATE)] == "같은 사람 또는 가구를 다른 기관도 추천했습니다: 성수1가1동 주민센터"


def test_each_nominator_sees_its_own_flags_and_duplicates_only_as_already_nominated(w, designed):
    w.as_organiser(service.run_checks, designed.campaign_id)
    for tenant, mine in ((w.a, ("n1", "n2", "n3", "n11")), (w.c, ("n6", "n7", "n12"))):
        with w.acting(tenant, commit=False):
            visible = db.session.scalars(select(Flag)).all()
            assert {designed.names[f.nomination.public_id] for f in visible} <= set(mine)
            notices = {name: service.nominator_notices(service.get_nomination_or_404(designed.ids[name]))
                       for name in mine}
    assert notices == {"n6": ["이미 다른 기관이 추천한 가구입니다."], "n7": ["주민등록상 사망(2026-10-01)으로 확인됩니다."],
                       "n12": ["이미 다른 기관이 추천한 가구입니다."]}


def test_rechecking_is_idempotent_and_resolved_flags_stay_resolved(w, designed):
    w.as_organiser(service.run_checks, designed.campaign_id)
    first = _flags(w, designed)
    again = w.as_organiser(service.run_checks, designed.campaign_id)
    assert _flags(w, designed) == first and (again.new, again.cleared) == (0, 0)
    with w.acting(w.organiser) as actor:
        moved = service.flags_of_nomination(service.get_nomination_or_404(designed.ids["n8"]))[0]
        assert pytest.raises(RuleViolation, service.resolve_flag, moved, " ", actor).value.field == "note"
        service.resolve_flag(moved, "동 주민센터에 확인: 관내 재전입 예정", actor)
    w.as_organiser(service.run_checks, designed.campaign_id)
    w.as_organiser(service.run_checks, designed.campaign_id)
    assert _flags(w, designed)[("n8", D.MOVED_OUT)][0] == "resolved"
    assert _open(w, designed) == {**EXPECTED, "n8": set()}


def test_a_flag_that_no_longer_applies_is_cleared_and_comes_back_when_it_does(w, designed):
    w.as_organiser(service.run_checks, designed.campaign_id)
    with w.acting(w.organiser) as actor:
        service.reject(service.get_nomination_or_404(designed.ids["n4"]), "duplicate", actor)
    summary = w.as_organiser(service.run_checks, designed.campaign_id)
    flags = _flags(w, designed)
    assert summary.cleared == 1 and flags[("n1", D.DUPLICATE)][0] == "cleared"
    assert {flags[("n4", k)][0] for k in (D.DUPLICATE, D.OVER_DONG_QUOTA)} == {"resolved"}  # by the rejection
    assert flags[("n3", D.OVER_DONG_QUOTA)][0] == "open"  # n2, n1 still come first in the dong
    with w.acting(w.organiser) as actor:  # the organiser changes its mind: n4 is selected after all
        service.accept(service.get_nomination_or_404(designed.ids["n4"]), actor)
    w.as_organiser(service.run_checks, designed.campaign_id)
    flags = _flags(w, designed)
    assert flags[("n1", D.DUPLICATE)][0] == "open"  # found again
    assert flags[("n4", D.DUPLICATE)][0] == "resolved"  # stays as the organiser left it
    # Selected nominations come first in a quota: n4, n2 fill the dong, so n1 and n3 are over it.
    assert {name for (name, kind), (status, _, _) in flags.items()
            if kind is D.OVER_DONG_QUOTA and status == "open"} == {"n1", "n3"}


def test_quota_arithmetic_selected_first_then_priority_then_time(w):
    campaign_id = w.campaign(nominators=[(w.a, 1), (w.b, 0), (w.c, None)],
                             dong_quotas=[{"dong": w.d2.code, "quota": 2}, {"dong": w.d3.code, "quota": 0}])
    order = [("first", w.a, w.d2, "normal"), ("urgent", w.a, w.d2, "urgent"), ("high", w.c, w.d2, "high"),
             ("late", w.c, w.d2, "normal"), ("b", w.b, w.d1, "normal"), ("d3", w.c, w.d3, "normal")]
    ids = {name: w.nominate(tenant, campaign_id, w.client(tenant, dong), priority).nomination.public_id
           for name, tenant, dong, priority in order}
    names = {v: k for k, v in ids.items()}

    def over():
        w.as_organiser(service.run_checks, campaign_id)
        with w.acting(w.organiser, commit=False):
            flags = service.flags_of(service.get_campaign_or_404(campaign_id), "open")
            return sorted((names[f.nomination.public_id], f.kind.value) for f in flags)

    # d2 (quota 2): urgent, high, then first, late by time. A (quota 1): urgent before first. B: quota 0.
    assert over() == [("b", "over_nominator_quota"), ("d3", "over_dong_quota"), ("first", "over_dong_quota"),
                      ("first", "over_nominator_quota"), ("late", "over_dong_quota")]
    with w.acting(w.organiser) as actor:
        first = service.get_nomination_or_404(ids["first"])
        for flag in service.flags_of_nomination(first, only_open=True):
            service.resolve_flag(flag, "예외 인정", actor)
        service.accept(first, actor)
    # Selected first: "first" now fills A's quota and a place in d2, pushing "urgent" and "high" down.
    assert over() == [("b", "over_nominator_quota"), ("d3", "over_dong_quota"), ("high", "over_dong_quota"),
                      ("late", "over_dong_quota"), ("urgent", "over_nominator_quota")]


def test_without_a_registry_nothing_is_flagged_deceased_and_the_summary_says_so(w, app, monkeypatch):
    monkeypatch.setitem(app.config, "RESIDENT_REGISTRY_CSV", None)
    campaign_id = w.campaign()
    w.nominate(w.a, campaign_id, w.client(w.a, w.d1, rrn_for(born(1929))))
    summary = w.as_organiser(service.run_checks, campaign_id)
    assert summary.registry_available is False and summary.open == {}


def test_an_unreadable_registry_file_refuses_the_check_in_korean(w, app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "RESIDENT_REGISTRY_CSV", str(tmp_path / "missing.csv"))
    campaign_id = w.campaign()
    with w.acting(w.organiser, commit=False) as actor:
        with pytest.raises(RuleViolation) as refused:
            service.run_checks(service.get_campaign_or_404(campaign_id), actor)
    assert refused.value.message == "주민등록 변동 자료를 읽을 수 없어 점검하지 못했습니다. 관리자에게 문의하세요."


def test_the_csv_registry_keeps_each_persons_latest_change_and_logs_bad_lines_without_content(tmp_path, caplog):
    number = rrn_for(born(1931))
    path = _registry_csv(tmp_path, [(number, "전출", "2025-05-01", "1100000000"), (number.replace("-", ""), "사망",
                                                                                   "2026-02-03", ""),
                                    ("9001011234567", "unknown", "2026-01-01", ""), (number, "전입", "2024-01-01", "")])
    with caplog.at_level(logging.WARNING):
        registry = CsvResidentRegistry(path)
    change = registry.latest_change(number.replace("-", ""))
    assert (change.change, change.on) == (Change.DECEASED, date(2026, 2, 3))
    assert registry.latest_change("0000000000000") is None
    assert "line 4" in caplog.text and "9001011234567" not in caplog.text and number[:6] not in caplog.text


class _LiveRegistry:
    available = True

    def __init__(self, config):
        self.config = config

    def latest_change(self, rrn_digits):
        return None


def test_a_live_registry_plugs_in_by_config(app, monkeypatch):
    with app.app_context():
        monkeypatch.setitem(app.config, "RESIDENT_REGISTRY", f"{__name__}:_LiveRegistry")
        assert isinstance(resident_registry(), _LiveRegistry)
        monkeypatch.setitem(app.config, "RESIDENT_REGISTRY", None)
        monkeypatch.setitem(app.config, "RESIDENT_REGISTRY_CSV", None)
        assert isinstance(resident_registry(), EmptyRegistry)


def test_household_digests_differ_per_organiser_and_from_the_blind_index(w, make):
    number = rrn_for(born(1928))
    person = w.client(w.a, w.d1, number)
    other_organiser = make.tenant(name="광진구청", region=w.outside)
    with w.acting(w.a, commit=False):
        own = db.session.get(Client, person.id)
        here = dict(checks.household_keys(w.organiser.id, own, [own], w.d1.code, None))
        there = dict(checks.household_keys(other_organiser.id, own, [own], w.d1.code, None))
        assert here and here.keys() == there.keys()
        assert here != there and own.rrn_blind_index not in (set(here.values()) | set(there.values()))
    campaign_id = w.campaign()
    w.nominate(w.a, campaign_id, person)
    with w.acting(w.organiser, commit=False):
        stored = db.session.scalars(select(NominationKey.digest)).all()
    assert stored == list(here.values())


def test_checks_after_each_nomination_leave_the_flags_a_whole_campaign_recheck_finds(w, app, tmp_path, monkeypatch):
    """Each nomination's job looks only at the nominations it can affect; run after every one of the
    designed nominations (as the queue would), they end where the full check does: the same open
    flags, and a full check afterwards finds nothing new and clears nothing."""
    from hanaro.core import jobs

    ran = []

    def nominate_and_run_its_job(self, tenant, campaign_id, client, priority="normal",
                                 reason="겨울 김장이 어려운 독거 어르신입니다."):
        with self.acting(tenant, commit=False) as actor:
            result = service.nominate(service.get_campaign_or_404(campaign_id), db.session.get(Client, client.id),
                                      {"reason": reason, "priority": priority}, actor)
            db.session.commit()
            ran.append(jobs.run_deferred())
        return result

    monkeypatch.setattr(CampaignWorld, "nominate", nominate_and_run_its_job)
    designed = Designed(w, app, tmp_path, monkeypatch)
    assert ran and all(n == 1 for n in ran)
    assert _open(w, designed) == EXPECTED
    summary = w.as_organiser(service.run_checks, designed.campaign_id)
    assert (summary.new, summary.cleared) == (0, 0)
    assert _open(w, designed) == EXPECTED


def test_a_nominations_check_reads_its_own_rows_not_the_campaigns(w, monkeypatch):
    """The job after a nomination loads the nominee, the nominations sharing its household keys and
    those of its quota groups, never the rest of the campaign's."""
    campaign_id = w.campaign(nominators=[(w.a, None), (w.b, None)])
    for _ in range(6):
        w.nominate(w.b, campaign_id, w.client(w.b, w.d2, rrn_for(born(1940 + _))))
    number = rrn_for(born(1933))
    w.nominate(w.a, campaign_id, w.client(w.a, w.d1, number))
    last = w.nominate(w.b, campaign_id, w.client(w.b, w.d1, number)).nomination
    loaded = []
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    def on_load(session, instance):
        if isinstance(instance, Nomination):
            loaded.append(instance.id)

    with w.acting(w.organiser) as _:
        campaign = service.get_campaign_or_404(campaign_id)
        nomination_id = db.session.scalar(select(Nomination.id).where(Nomination.public_id == last.public_id))
        event.listen(Session, "loaded_as_persistent", on_load)
        try:
            service.run_checks_job(campaign.id, nomination_id)
        finally:
            event.remove(Session, "loaded_as_persistent", on_load)
        flagged = {f.nomination.public_id for f in service.flags_of(campaign) if f.kind is D.DUPLICATE}
    assert len(set(loaded)) == 2  # the nominee and the other nominator's same person; not the six others
    assert last.public_id in flagged and len(flagged) == 2


def test_a_nominators_zero_quota_flags_its_nomination_in_the_check_after_it(w):
    campaign_id = w.campaign(nominators=[(w.a, 0), (w.b, None)])
    nomination = w.nominate(w.a, campaign_id, w.client(w.a, w.d1, rrn_for(born(1936)))).nomination
    with w.acting(w.organiser) as _:
        campaign = service.get_campaign_or_404(campaign_id)
        nomination_id = db.session.scalar(select(Nomination.id).where(Nomination.public_id == nomination.public_id))
        service.run_checks_job(campaign.id, nomination_id)
    with w.acting(w.organiser, commit=False):
        flags = service.flags_of(service.get_campaign_or_404(campaign_id))
        assert [(f.kind, f.details) for f in flags] == [(D.OVER_NOMINATOR_QUOTA, {"quota": 0, "rank": 1})]
