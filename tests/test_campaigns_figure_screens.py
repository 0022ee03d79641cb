"""The organiser's figures screens (자원배분 통계) on a designed data set: the numbers each chart's
table shows (over every campaign and for one), the households served by period, the CSV of each
figure, the table alternative beside every chart; a nominating agency sees nothing of it."""
from __future__ import annotations

import csv
import io
from datetime import date
from html.parser import HTMLParser

import pytest
from sqlalchemy import update

from hanaro.campaigns import service
from hanaro.campaigns.figure_views import CAMPAIGN_FIGURES, OVERVIEW_FIGURES
from hanaro.campaigns.models import Nomination
from hanaro.core import clock
from hanaro.core.db import db

from .campaign_world import CampaignWorld, born, rrn_for
from .helpers import login

THIS_MONTH = clock.today().strftime("%Y-%m")
LAST_YEAR = clock.today().year - 1


def _registry_csv(tmp_path, rows):
    path = tmp_path / "registry.csv"
    path.write_text("rrn,change,changed_on,region_code\n" + "".join(f"{','.join(r)}\n" for r in rows), encoding="utf-8")
    return str(path)


class Designed:
    """Three campaigns of the organiser (성동구청 복지정책과):

    * 김장 1차 (sponsor 성동구 자원봉사센터; A may nominate 2 households, 금호1가동 1): A nominates
      a1 (성수1가1동, person P), a2 (성수1가1동), a3 (왕십리도선동, over A's quota); B nominates b1
      (성수1가1동, P again: a duplicate) and b2 (금호1가동); C nominates c1 (금호1가동, over the dong's
      quota) and c2 (왕십리도선동, then withdrawn). The organiser keeps a1 (b1 rejected), rejects a3,
      lets c1 through, selects four and records a1, b2 delivered today, a2 delivered in January
      last year (an earlier record), c1 not delivered; the campaign is finished.
    * 김장 2차 (the same sponsor, running; A, B and C invited): A nominates a1's client again
      (concentration) and a person the registry knows as deceased (왕십리도선동); C one who moved
      out of the district (금호1가동); B nothing yet.
    * 난방비 지원 (no sponsor, running; B invited): one nomination in 왕십리도선동.
    """

    def __init__(self, w: CampaignWorld, app, tmp_path, monkeypatch):
        self.w = w
        same, dead, moved = rrn_for(born(1931)), rrn_for(born(1932)), rrn_for(born(1933))
        monkeypatch.setitem(app.config, "RESIDENT_REGISTRY_CSV", _registry_csv(tmp_path, [
            (dead, "사망", "2026-10-01", ""), (moved, "전출", "2026-09-01", w.outside.code)]))
        self.first = w.campaign(title="김장 1차", nominators=[(w.a, 2), (w.b, None), (w.c, None)],
                                dong_quotas=[{"dong": w.d3.code, "quota": 1}])
        a1_client = w.client(w.a, w.d1, same)
        n = {"a1": w.nominate(w.a, self.first, a1_client), "a2": w.nominate(w.a, self.first, w.client(w.a, w.d1)),
             "a3": w.nominate(w.a, self.first, w.client(w.a, w.d2)),
             "b1": w.nominate(w.b, self.first, w.client(w.b, w.d1, same)),
             "b2": w.nominate(w.b, self.first, w.client(w.b, w.d3)),
             "c1": w.nominate(w.c, self.first, w.client(w.c, w.d3)),
             "c2": w.nominate(w.c, self.first, w.client(w.c, w.d2))}
        ids = {name: result.nomination.public_id for name, result in n.items()}
        with w.acting(w.c) as actor:
            service.withdraw(service.get_nomination_or_404(ids["c2"]), None, actor)
        with w.acting(w.organiser) as actor:
            campaign = service.get_campaign_or_404(self.first)
            service.close_nominations(campaign, actor)
            service.keep_duplicate(service.get_nomination_or_404(ids["a1"]), actor)
            service.reject(service.get_nomination_or_404(ids["a3"]), "over_quota", actor)
            c1 = service.get_nomination_or_404(ids["c1"])
            service.resolve_flag(service.flags_of_nomination(c1, only_open=True)[0], "동 한도 예외 승인", actor)
            for name in ("a1", "a2", "b2", "c1"):
                service.accept(service.get_nomination_or_404(ids[name]), actor)
            service.finalise(campaign, actor)
            for name in ("a1", "a2", "b2"):
                service.record_delivery(service.get_nomination_or_404(ids[name]),
                                        {"status": "delivered", "delivered_on": clock.today()}, actor)
            service.record_delivery(c1, {"status": "not_delivered", "note": "부재"}, actor)
            service.complete(campaign, actor)
        with w.acting(w.organiser):  # an earlier delivery, as if recorded last winter
            db.session.execute(update(Nomination).where(Nomination.public_id == ids["a2"]).values(
                delivered_on=date(LAST_YEAR, 1, 15)))

        self.second = w.campaign(title="김장 2차", nominators=[(w.a, None), (w.b, None), (w.c, None)])
        w.nominate(w.a, self.second, a1_client)
        w.nominate(w.a, self.second, w.client(w.a, w.d2, dead))
        w.nominate(w.c, self.second, w.client(w.c, w.d3, moved))
        self.heating = w.campaign(title="난방비 지원", category="heating", sponsor="", nominators=[(w.b, None)])
        w.nominate(w.b, self.heating, w.client(w.b, w.d2))
        for campaign_id in (self.second, self.heating):
            w.as_organiser(service.run_checks, campaign_id)

        self.organiser_user = w.bureau  # tenant admin of the organiser
        self.staff = w.make.member(w.organiser, roles=["campaign_organiser"], name="배분담당")
        self.caseworker = w.make.member(w.organiser, roles=["case_manager"], name="구청사례")
        # B's own campaign staff: B organises nothing, it only nominates.
        self.b_staff = w.make.member(w.b, roles=["campaign_organiser", "tenant_admin"], name="복지관배분")


@pytest.fixture
def d(make, app, tmp_path, monkeypatch):
    return Designed(CampaignWorld(make), app, tmp_path, monkeypatch)


def _signed_in(app, user):
    client = app.test_client()
    login(client, user.email)
    return client


class _Tables(HTMLParser):
    """The figure tables of a page as {figure key: [[cell, ...], ...]} (header row first)."""

    def __init__(self):
        super().__init__()
        self.tables, self._figure, self._row, self._cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and (attrs.get("id") or "").startswith("figure-"):
            self._figure = attrs["id"][len("figure-"):]
            self.tables[self._figure] = []
        elif tag == "tr" and self._figure:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._figure].append(self._row)
            self._row = None
        elif tag == "section":
            self._figure = None


def tables(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


# -- every campaign together -----------------------------------------------------------------------------

def test_the_overview_shows_the_numbers_of_every_campaign_the_organiser_runs(d, app):
    page = _signed_in(app, d.staff).get("/campaign-figures/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    t = tables(html)
    assert set(t) == set(OVERVIEW_FIGURES)
    assert t["by-dong"][1:] == [["성수1가1동", "4"], ["왕십리도선동", "3"], ["금호1가동", "3"]]
    assert t["by-nominator"][1:] == [["성수1가1동 주민센터", "5"], ["성동종합사회복지관", "3"], ["나눔푸드뱅크", "2"]]
    assert t["by-sponsor"][1:] == [["성동구 자원봉사센터", "9"], ["후원자 없음", "1"]]
    assert t["by-status"][1:] == [["접수", "4"], ["선정", "4"], ["제외", "2"], ["철회", "1"]]
    assert t["flags"][0] == ["점검 항목", "찾은 건수", "확인 필요", "해결", "해당 없음"]
    assert t["flags"][1:] == [["중복 추천", "2", "0", "2", "0"], ["사망", "1", "1", "0", "0"], ["전출", "1", "1", "0", "0"],
                              ["편중 지원", "1", "1", "0", "0"], ["동별 한도 초과", "1", "0", "1", "0"],
                              ["기관별 한도 초과", "1", "0", "1", "0"]]
    # Households served: the last twelve months, this month's two kimjang deliveries (January last
    # year's is outside them).
    served = t["households-served"]
    assert served[0] == ["지급한 달", "김장", "합계"] and len(served) == 13
    assert served[-1] == [THIS_MONTH, "2", "2"] and all(row[1:] == ["0", "0"] for row in served[1:-1])
    assert "최근 12개월 동안 지급을 마친 가구 2곳" in html
    # The campaigns, each linking to its own figures.
    for campaign_id, title in ((d.first, "김장 1차"), (d.second, "김장 2차"), (d.heating, "난방비 지원")):
        assert f'<a href="/campaign-figures/{campaign_id}">{title}</a>' in html


def test_every_chart_has_a_title_a_description_and_a_table_alternative(d, app):
    html = _signed_in(app, d.organiser_user).get("/campaign-figures/").get_data(as_text=True)
    assert html.count('role="img"') == html.count("<details") == len(OVERVIEW_FIGURES)
    assert html.count("<caption>") == len(OVERVIEW_FIGURES)
    assert '<title id="chart-by-dong-title">읍면동별 추천</title>' in html
    assert 'aria-labelledby="chart-by-dong-title chart-by-dong-desc"' in html
    assert ('<desc id="chart-by-dong-desc">추천 10건을 추천된 가구가 사는 읍면동별로 센 값입니다 (철회한 추천 제외).</desc>'
            in html)
    assert '<summary>표로 보기<span class="visually-hidden">: 점검 결과: 찾은 것과 정리한 것</span></summary>' in html
    for key in OVERVIEW_FIGURES:
        assert f'href="/campaign-figures/{key}.csv"' in html
    assert "<script" not in html.split("<main", 1)[1] and 'style="' not in html


def test_households_served_by_year(d, app):
    client = _signed_in(app, d.staff)
    html = client.get(f"/campaign-figures/?year={LAST_YEAR}").get_data(as_text=True)
    served = tables(html)["households-served"]
    assert len(served) == 13 and served[1] == [f"{LAST_YEAR}-01", "1", "1"]
    assert all(row[1:] == ["0", "0"] for row in served[2:])
    assert f"{LAST_YEAR}년 동안 지급을 마친 가구 1곳" in html
    assert f'<option value="{LAST_YEAR}" selected>{LAST_YEAR}년</option>' in html
    assert f'href="/campaign-figures/households-served.csv?year={LAST_YEAR}"' in html
    rows = _csv(client.get(f"/campaign-figures/households-served.csv?year={LAST_YEAR}"))
    assert rows[0] == ["지급한 달", "김장", "합계"] and rows[1] == [f"{LAST_YEAR}-01", "1", "1"] and len(rows) == 13


def test_a_year_that_cannot_be_shown_is_refused_next_to_the_field(d, app):
    client = _signed_in(app, d.staff)
    for wrong in ("1999", "올해", "2026-11"):
        page = client.get(f"/campaign-figures/?year={wrong}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert 'id="period-year-error"' in html and 'aria-invalid="true"' in html
        assert tables(html)["households-served"][-1] == [THIS_MONTH, "2", "2"]  # the last twelve months instead


def test_each_overview_figure_downloads_as_csv(d, app):
    client = _signed_in(app, d.staff)
    assert _csv(client.get("/campaign-figures/by-nominator.csv")) == [
        ["추천 기관", "추천"], ["성수1가1동 주민센터", "5"], ["성동종합사회복지관", "3"], ["나눔푸드뱅크", "2"]]
    assert _csv(client.get("/campaign-figures/by-status.csv"))[1:] == [["접수", "4"], ["선정", "4"], ["제외", "2"],
                                                                        ["철회", "1"]]
    assert _csv(client.get("/campaign-figures/flags.csv"))[2] == ["사망", "1", "1", "0", "0"]
    assert client.get("/campaign-figures/nothing.csv").status_code == 404


# -- one campaign ------------------------------------------------------------------------------------------

def test_one_campaign_with_its_quotas_and_every_invited_agency(d, app):
    client = _signed_in(app, d.staff)
    html = client.get(f"/campaign-figures/{d.first}").get_data(as_text=True)
    t = tables(html)
    assert set(t) == set(CAMPAIGN_FIGURES)
    assert t["by-dong"] == [["읍면동", "추천", "동별 배정 한도"], ["성수1가1동", "3", "제한 없음"],
                            ["금호1가동", "2", "1가구"], ["왕십리도선동", "1", "제한 없음"]]
    assert t["by-nominator"] == [["추천 기관", "추천", "기관별 추천 한도"], ["성수1가1동 주민센터", "3", "2가구"],
                                 ["성동종합사회복지관", "2", "제한 없음"], ["나눔푸드뱅크", "1", "제한 없음"]]
    assert t["by-status"][1:] == [["접수", "0"], ["선정", "4"], ["제외", "2"], ["철회", "1"]]
    assert t["flags"][1] == ["중복 추천", "2", "0", "2", "0"] and t["flags"][2] == ["사망", "0", "0", "0", "0"]
    assert "3건 (한도 2가구)" in html  # the chart's bar label for A
    assert "김장 1차 통계" in html and "지급 완료" in html and "100상자 (가구당 1상자)" in html
    assert html.count('role="img"') == html.count("<details") == len(CAMPAIGN_FIGURES)

    running = tables(client.get(f"/campaign-figures/{d.second}").get_data(as_text=True))
    # B was invited and has nominated nobody yet: it shows, with 0.
    assert running["by-nominator"][1:] == [["성수1가1동 주민센터", "2", "제한 없음"], ["나눔푸드뱅크", "1", "제한 없음"],
                                           ["성동종합사회복지관", "0", "제한 없음"]]
    assert running["by-dong"][0] == ["읍면동", "추천"]  # no dong quotas: no quota column
    assert {row[0]: row[2] for row in running["flags"][1:]} == {
        "중복 추천": "0", "사망": "1", "전출": "1", "편중 지원": "1", "동별 한도 초과": "0", "기관별 한도 초과": "0"}

    assert _csv(client.get(f"/campaign-figures/{d.first}/by-nominator.csv")) == t["by-nominator"]
    assert _csv(client.get(f"/campaign-figures/{d.first}/flags.csv")) == t["flags"]
    assert client.get(f"/campaign-figures/{d.first}/by-sponsor.csv").status_code == 404


# -- who sees what --------------------------------------------------------------------------------------------

def test_a_nominating_agency_gets_nothing(d, app):
    client = _signed_in(app, d.b_staff)  # B nominates for all three campaigns
    html = client.get("/campaign-figures/").get_data(as_text=True)
    assert "우리 기관이 주관하는 자원배분 캠페인이 없습니다" in html
    assert tables(html) == {} and "김장 1차" not in html and "성수1가1동" not in html
    for campaign_id in (d.first, d.second, d.heating):
        assert client.get(f"/campaign-figures/{campaign_id}").status_code == 404
        assert client.get(f"/campaign-figures/{campaign_id}/by-dong.csv").status_code == 404
    rows = _csv(client.get("/campaign-figures/by-nominator.csv"))
    assert rows == [["추천 기관", "추천"]]


def test_the_organisers_other_staff_are_refused(d, app):
    client = _signed_in(app, d.caseworker)
    assert client.get("/campaign-figures/").status_code == 403
    assert client.get(f"/campaign-figures/{d.first}").status_code == 403
