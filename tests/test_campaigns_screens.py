"""Campaign screens through the test client, for both sides: the organiser creates (form rows for
invited agencies and dong quotas, with and without JavaScript), opens, closes (the checks run),
reviews (accept, reject with a reason, keep one duplicate, resolve a flag), finalises with
allocations, records deliveries and completes; invited agencies pick one of their own clients,
nominate, see their notices and results. Bad input keeps what was typed with Korean messages
next to the fields; double submits create one; the wrong side gets 403, everyone else 404; a
nominating agency's pages never show another agency's nomination."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from hanaro.audit.models import AccessLogEntry
from hanaro.campaigns.models import (
    Campaign, CampaignStatus, DeliveryStatus, Flag, FlagKind, FlagStatus, Invitation, Nomination, NominationStatus,
)
from hanaro.core import clock
from hanaro.core.db import db
from hanaro.notifications.models import Notification
from hanaro.tenancy.context import acting_as

from .campaign_world import CampaignWorld, born, rrn_for
from .helpers import count_queries, login

TODAY = clock.today()


@pytest.fixture
def w(app, make):
    world = CampaignWorld(make)
    world.organiser_user = make.member(world.organiser, roles=["campaign_organiser"], name="배분담당")
    world.bureau_worker = make.member(world.organiser, roles=["case_manager"], name="구청사례관리")
    world.user_of = lambda tenant: (world.organiser_user if tenant.id == world.organiser.id
                                    else world.users[tenant.id])
    world.browsers = {}
    return world


def browser(w, user):
    if user.id not in w.browsers:
        client = w.app.test_client()
        assert login(client, user.email).status_code == 303
        w.browsers[user.id] = client
    return w.browsers[user.id]


def organiser(w):
    return browser(w, w.organiser_user)


def nominator(w, tenant):
    return browser(w, w.users[tenant.id])


def text(response) -> str:
    return unescape(response.get_data(as_text=True))


_tokens = iter(range(1, 10_000))


def token() -> str:
    return f"tok-{next(_tokens)}"


def campaign_form(w, **changes):
    data = {"title": "2026 사랑의 김장김치 나눔", "category": "kimjang", "item_description": "김장김치 10kg",
            "sponsor": "성동구 자원봉사센터", "quantity": "100", "unit": "상자", "per_household": "1",
            "eligibility_notes": "기초생활수급 및 차상위 가구", "opens_on": TODAY.isoformat(),
            "closes_on": (TODAY + timedelta(days=10)).isoformat(),
            "nominator_tenant": [w.a.code, w.b.code, ""], "nominator_quota": ["", "5", ""],
            "quota_dong": [w.d1.code, ""], "quota_households": ["3", ""], "submission_token": token()}
    data.update(changes)
    return data


def load(w, tenant, model, public_id):
    return w.load(tenant, model, public_id)


def campaign_id_from(response) -> str:
    assert response.status_code == 303, response.status_code
    match = re.fullmatch(r"/campaigns/([\w-]+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def nomination_id_from(response) -> str:
    assert response.status_code == 303, response.status_code
    match = re.fullmatch(r"/campaigns/nominations/([\w-]+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def post_nomination(w, tenant, campaign_id, client, **changes):
    data = {"client": client.public_id, "reason": "겨울 김장이 어려운 독거 어르신입니다.", "priority": "normal",
            "submission_token": token(), **changes}
    return nominator(w, tenant).post(f"/campaigns/{campaign_id}/nominate", data=data)


# -- the organiser's campaign form ---------------------------------------------------------------------

def test_the_organiser_creates_a_campaign_with_agency_and_dong_rows_once(w):
    page = organiser(w).get("/campaigns/new")
    assert page.status_code == 200
    body = text(page)
    assert body.count('name="nominator_tenant"') == 3 and body.count('name="quota_dong"') == 3
    assert "추천 기관 행 추가" in body and w.a.name in body

    form = campaign_form(w)
    created = organiser(w).post("/campaigns/new", data=form)
    public_id = campaign_id_from(created)
    again = organiser(w).post("/campaigns/new", data=form)  # a double click
    assert again.status_code == 303 and again.headers["Location"] == f"/campaigns/{public_id}"
    with w.app.app_context(), acting_as(w.organiser.id, None):
        assert db.session.scalar(select(func.count()).select_from(Campaign)) == 1
        campaign = db.session.scalar(select(Campaign).where(Campaign.public_id == public_id))
        quotas = dict(db.session.execute(select(Invitation.nominator_tenant_id, Invitation.quota)).all())
        # A blank quota before a filled one stays "no limit" on its own row.
        assert quotas == {w.a.id: None, w.b.id: 5}
        assert campaign.dong_quotas == {w.d1.code: 3} and campaign.status is CampaignStatus.PREPARATION
    page = text(organiser(w).get(created.headers["Location"]))
    assert "캠페인을 만들었습니다" in page and "준비" in page and "추천 접수 시작" in page


def test_bad_campaign_input_keeps_what_was_typed_with_korean_messages_next_to_the_fields(w):
    form = campaign_form(w, title="", quantity="많이", closes_on="11/20", sponsor="한마음 후원회")
    refused = organiser(w).post("/campaigns/new", data=form)
    assert refused.status_code == 422
    body = text(refused)
    assert 'role="alert"' in body and 'id="error-summary"' in body
    assert re.search(r'id="title-error">필수 입력 항목입니다\.', body)
    assert re.search(r'id="quantity-error">숫자를 입력하세요\.', body)
    assert re.search(r'id="closes_on-error">날짜를 YYYY-MM-DD 형식으로 입력하세요\.', body)
    assert 'value="한마음 후원회"' in body and 'value="많이"' in body
    assert re.search(rf'<option value="{w.b.code}" selected>', body) and 'value="5"' in body

    # A rule of the service (a dong listed twice) is shown next to the dong quotas, values kept.
    twice = organiser(w).post("/campaigns/new", data=campaign_form(w, quota_dong=[w.d1.code, w.d1.code],
                                                                    quota_households=["3", "4"]))
    assert twice.status_code == 422
    body = text(twice)
    assert re.search(r'id="dong-quotas-error">같은 읍면동이 두 번 들어 있습니다\.', body)
    assert body.count(f'<option value="{w.d1.code}" selected>') == 2
    late = organiser(w).post("/campaigns/new", data=campaign_form(
        w, opens_on=(TODAY - timedelta(days=5)).isoformat(), closes_on=(TODAY - timedelta(days=1)).isoformat()))
    assert late.status_code == 422 and re.search(r'id="closes_on-error">추천 마감일은 오늘 이후여야 합니다\.', text(late))
    with w.app.app_context(), acting_as(w.organiser.id, None):
        assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_rows_are_added_with_htmx_or_by_posting_the_form_without_javascript(w):
    row = organiser(w).get("/campaigns/rows/nominator", headers={"HX-Request": "true"})
    assert row.status_code == 200
    body = text(row)
    assert body.count('name="nominator_tenant"') == 1 and "<html" not in body and w.c.name in body
    assert organiser(w).get("/campaigns/rows/dong").status_code == 200
    assert organiser(w).get("/campaigns/rows/other").status_code == 404

    form = campaign_form(w, add_row="dong", title="행 늘리기")
    more = organiser(w).post("/campaigns/new", data=form)
    assert more.status_code == 200
    body = text(more)
    assert body.count('name="quota_dong"') == 3 and 'value="행 늘리기"' in body  # 2 posted + 1
    with w.app.app_context(), acting_as(w.organiser.id, None):
        assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_while_open_only_the_closing_date_notes_and_quotas_change(w):
    public_id = w.campaign(nominators=[(w.a, None), (w.b, 2)])
    page = text(organiser(w).get(f"/campaigns/{public_id}/edit"))
    assert "마감일, 지원 기준, 기관별·동별 한도만" in page and 'name="title"' not in page
    assert f'type="hidden" name="nominator_tenant" value="{w.a.code}"' in page
    changed = organiser(w).post(f"/campaigns/{public_id}/edit", data={
        "closes_on": (TODAY + timedelta(days=20)).isoformat(), "eligibility_notes": "",
        "nominator_tenant": [w.a.code, w.b.code], "nominator_quota": ["4", ""], "quota_dong": [w.d2.code],
        "quota_households": ["7"]})
    assert changed.status_code == 303
    campaign = load(w, w.organiser, Campaign, public_id)
    assert campaign.closes_on == TODAY + timedelta(days=20) and campaign.eligibility_notes is None
    assert campaign.dong_quotas == {w.d2.code: 7}
    with w.app.app_context(), acting_as(w.organiser.id, None):
        assert dict(db.session.execute(select(Invitation.nominator_tenant_id, Invitation.quota)).all()) == \
            {w.a.id: 4, w.b.id: None}
    early = organiser(w).post(f"/campaigns/{public_id}/edit", data={
        "closes_on": (TODAY - timedelta(days=1)).isoformat(), "nominator_tenant": [w.a.code, w.b.code]})
    assert early.status_code == 422
    assert re.search(r'id="closes_on-error">마감일은 오늘 이후여야 합니다\.', text(early))
    swapped = organiser(w).post(f"/campaigns/{public_id}/edit", data={
        "nominator_tenant": [w.a.code, w.c.code], "nominator_quota": ["4", "1"]})
    assert swapped.status_code == 422
    assert re.search(r'id="nominators-error">추천 접수 중에는 추천 기관을 바꿀 수 없습니다\. 한도만 고칠 수 있습니다\.',
                     text(swapped))
    assert load(w, w.organiser, Campaign, public_id).closes_on == TODAY + timedelta(days=20)


# -- opening, nominating ----------------------------------------------------------------------------------

def test_opening_invites_the_agencies_who_then_see_the_campaign_in_their_menu(w):
    created = organiser(w).post("/campaigns/new", data=campaign_form(w))
    public_id = campaign_id_from(created)
    assert nominator(w, w.a).get(f"/campaigns/{public_id}").status_code == 404  # in preparation: hidden
    assert "자원배분" not in text(nominator(w, w.a).get("/"))
    status_token = token()
    opened = organiser(w).post(f"/campaigns/{public_id}/status/open", data={"submission_token": status_token})
    assert opened.status_code == 303
    again = organiser(w).post(f"/campaigns/{public_id}/status/open", data={"submission_token": status_token})
    assert again.status_code == 303  # the double click goes where the first went
    assert "추천 접수를 시작했습니다" in text(organiser(w).get(f"/campaigns/{public_id}"))
    with w.app.app_context(), acting_as(w.a.id, None):
        assert db.session.scalar(select(func.count()).select_from(Notification)
                                 .where(Notification.kind == "campaign_invitation")) == 1
    home = text(nominator(w, w.a).get("/"))
    assert 'href="/campaigns"' in home and ">자원배분<" in home
    assert 'href="/campaigns"' not in text(nominator(w, w.c).get("/"))  # c was not invited
    listing = text(nominator(w, w.a).get("/campaigns"))
    assert "2026 사랑의 김장김치 나눔" in listing and w.organiser.name in listing
    assert "우리 기관이 주관하는 캠페인" not in listing
    page = text(nominator(w, w.a).get(f"/campaigns/{public_id}"))
    assert "대상자 추천하기" in page and "제한 없음" in page
    assert w.b.name not in page  # the other invited agency is not named to a nominator
    # An invited agency's administrator works with its clients too (as for referrals).
    admin = browser(w, w.make.member(w.b, roles=["tenant_admin"]))
    assert "대상자 추천하기" in text(admin.get(f"/campaigns/{public_id}")) and ">자원배분<" in text(admin.get("/"))


def test_a_nominator_picks_its_own_client_by_a_post_search_and_nominates_once(w):
    public_id = w.campaign()
    mine = w.client(w.a, w.d1, rrn_for(born(1944)), name="박순이")
    theirs = w.client(w.b, w.d1, rrn_for(born(1945)), name="박순자")
    picker = text(nominator(w, w.a).get(f"/campaigns/{public_id}/nominate"))
    assert "대상자 고르기" in picker and "박순이" in picker and "박순자" not in picker
    found = nominator(w, w.a).post(f"/campaigns/{public_id}/nominate/clients", data={"q": "박순"},
                                   headers={"HX-Request": "true", "HX-Target": "client-picker"})
    assert found.status_code == 200
    body = text(found)
    assert "<html" not in body and "박순이" in body and "박순자" not in body
    assert f"client={mine.public_id}" in body
    form = nominator(w, w.a).get(f"/campaigns/{public_id}/nominate?client={mine.public_id}")
    assert "추천 사유" in text(form) and "박순이" in text(form)
    assert nominator(w, w.a).get(f"/campaigns/{public_id}/nominate?client={theirs.public_id}").status_code == 404

    submitted = {"client": mine.public_id, "reason": "혼자 사시는 어르신", "priority": "urgent",
                 "submission_token": token()}
    first = nominator(w, w.a).post(f"/campaigns/{public_id}/nominate", data=submitted)
    nomination_id = nomination_id_from(first)
    second = nominator(w, w.a).post(f"/campaigns/{public_id}/nominate", data=submitted)
    assert second.headers["Location"] == first.headers["Location"]
    again = post_nomination(w, w.a, public_id, mine)  # a new form for the same client: the same nomination
    assert again.headers["Location"] == first.headers["Location"]
    with w.app.app_context(), acting_as(w.organiser.id, None):
        assert db.session.scalar(select(func.count()).select_from(Nomination)) == 1
    page = text(nominator(w, w.a).get(f"/campaigns/nominations/{nomination_id}"))
    assert "박순이" in page and "혼자 사시는 어르신" in page and "긴급" in page and "추천 철회" in page
    assert "박순이" in text(nominator(w, w.a).get(f"/campaigns/{public_id}"))
    assert "추천함" in text(nominator(w, w.a).get(f"/campaigns/{public_id}/nominate"))
    client_page = text(nominator(w, w.a).get(f"/clients/{mine.public_id}"))
    assert "자원배분 추천" in client_page and "2026 사랑의 김장김치 나눔" in client_page


def test_a_nomination_without_consent_is_explained_with_a_link_to_record_one_and_keeps_the_reason(w):
    public_id = w.campaign()
    person = w.client(w.a, w.d1, rrn_for(born(1943)), consent=False, name="동의없음")
    refused = post_nomination(w, w.a, public_id, person, reason="이유를 길게 적었습니다")
    assert refused.status_code == 422
    body = text(refused)
    assert "정보제공 동의가 없어 추천하지 못했습니다." in body and w.organiser.name in body
    assert f'href="/clients/{person.public_id}/consents/new"' in body
    assert "이유를 길게 적었습니다" in body and 'role="alert"' in body
    missing = post_nomination(w, w.a, public_id, person, reason="")
    assert missing.status_code == 422 and re.search(r'id="reason-error">필수 입력 항목입니다\.', text(missing))
    outside = w.client(w.a, w.outside, rrn_for(born(1942)))
    far = post_nomination(w, w.a, public_id, outside)
    assert far.status_code == 422 and "관할 지역(성동구) 밖에 사는 대상자는 추천할 수 없습니다." in text(far)
    with w.app.app_context(), acting_as(w.organiser.id, None):
        assert db.session.scalar(select(func.count()).select_from(Nomination)) == 0


def test_a_nominator_edits_and_withdraws_while_open(w):
    public_id = w.campaign()
    person = w.client(w.a, w.d1, rrn_for(born(1940)))
    nomination_id = nomination_id_from(post_nomination(w, w.a, public_id, person))
    bad = nominator(w, w.a).post(f"/campaigns/nominations/{nomination_id}/edit", data={"reason": "x", "priority": "high"})
    assert bad.status_code == 422 and "2자 이상 4000자 이하로 입력하세요." in text(bad)
    edited = nominator(w, w.a).post(f"/campaigns/nominations/{nomination_id}/edit",
                                    data={"reason": "난방비가 밀렸습니다", "priority": "high"})
    assert edited.status_code == 303
    assert load(w, w.a, Nomination, nomination_id).reason == "난방비가 밀렸습니다"
    withdrawn = nominator(w, w.a).post(f"/campaigns/nominations/{nomination_id}/withdraw", data={"note": "이사 예정"})
    assert withdrawn.status_code == 303
    assert load(w, w.a, Nomination, nomination_id).status is NominationStatus.WITHDRAWN
    twice = nominator(w, w.a).post(f"/campaigns/nominations/{nomination_id}/withdraw", data={})
    assert twice.status_code == 409 and "지금 상태(철회)의 추천은 '추천 철회'할 수 없습니다." in text(twice)


# -- duplicates stay private ---------------------------------------------------------------------------------

def test_a_second_nominator_learns_only_that_the_household_is_nominated_never_by_whom(w):
    public_id = w.campaign()
    number = rrn_for(born(1938))
    at_a = w.client(w.a, w.d1, number, name="가기관대상자")
    at_b = w.client(w.b, w.d1, number, name="나기관대상자")
    first_id = nomination_id_from(post_nomination(w, w.a, public_id, at_a, reason="가기관이 쓴 비밀 사유"))
    second = post_nomination(w, w.b, public_id, at_b, reason="나기관 사유")
    second_id = nomination_id_from(second)
    pages = [nominator(w, w.b).get(second.headers["Location"]), nominator(w, w.b).get(f"/campaigns/{public_id}"),
             nominator(w, w.b).get("/campaigns"), nominator(w, w.b).get(f"/campaigns/{public_id}/nominate"),
             nominator(w, w.b).get(f"/clients/{at_b.public_id}")]
    assert "이미 다른 기관이 추천한 가구입니다." in text(pages[0])  # the flash, then the notice
    assert "이미 다른 기관이 추천한 가구입니다." in text(pages[1])
    for page in pages:
        body = text(page)
        assert page.status_code == 200
        for secret in ("가기관대상자", "가기관이 쓴 비밀 사유", w.a.name, first_id):
            assert secret not in body, secret
    assert nominator(w, w.b).get(f"/campaigns/nominations/{first_id}").status_code == 404

    organiser_page = text(organiser(w).get(f"/campaigns/nominations/{second_id}"))
    assert "같은 사람 또는 가구를 다른 기관도 추천했습니다: 성수1가1동 주민센터" in organiser_page
    assert "같은 사람" in organiser_page and "이 추천으로 지원" in organiser_page
    assert "나기관대상자" in organiser_page  # the organiser sees the nominee (logged)


# -- the organiser's review ------------------------------------------------------------------------------------

@pytest.fixture
def reviewed(w):
    """An open campaign with a duplicate household (a and b), a clean nomination (c) and one over
    c's quota of one; closed for review through the screen."""
    public_id = w.campaign(nominators=[(w.a, None), (w.b, None), (w.c, 1)], dong_quotas=[])
    number = rrn_for(born(1936))
    ids = {
        "dup_a": nomination_id_from(post_nomination(w, w.a, public_id, w.client(w.a, w.d1, number, name="중복가"))),
        "dup_b": nomination_id_from(post_nomination(w, w.b, public_id, w.client(w.b, w.d1, number, name="중복나"))),
        "clean": nomination_id_from(post_nomination(w, w.c, public_id, w.client(w.c, w.d2, rrn_for(born(1950)),
                                                                                  name="깨끗한"), priority="high")),
        "over": nomination_id_from(post_nomination(w, w.c, public_id, w.client(w.c, w.d3, rrn_for(born(1951)),
                                                                                 name="한도넘음"))),
    }
    closed = organiser(w).post(f"/campaigns/{public_id}/status/review", data={"submission_token": token()})
    assert closed.status_code == 303
    return public_id, ids


def test_closing_runs_the_checks_and_the_table_shows_flags_with_their_reasons_and_filters(w, reviewed):
    public_id, ids = reviewed
    page = text(organiser(w).get(f"/campaigns/{public_id}"))
    assert "추천을 마감했습니다. 점검했습니다. 확인이 필요한 결과 3건 (중복 추천 2, 기관별 한도 초과 1)." in page
    assert "같은 사람 또는 가구를 다른 기관도 추천했습니다: 성동종합사회복지관" in page
    assert "추천 기관 한도(1가구)를 넘는 추천입니다 (2번째)." in page
    assert "중○○" in page and "중복가" not in page and "깨끗한" not in page  # initials only in the list
    flagged = text(organiser(w).get(f"/campaigns/{public_id}?flagged=1"))
    assert "추천 3건" in flagged and "깨○○" not in flagged
    by_agency = organiser(w).get(f"/campaigns/{public_id}?nominator={w.c.code}",
                                 headers={"HX-Request": "true", "HX-Target": "nominations"})
    body = text(by_agency)
    assert "<html" not in body and "추천 2건" in body and "중○○" not in body
    by_dong = text(organiser(w).get(f"/campaigns/{public_id}?dong={w.d2.code}&status=submitted"))
    assert "추천 1건" in by_dong and "깨○○" in by_dong
    ignored = organiser(w).get(f"/campaigns/{public_id}?status=nonsense&flagged=maybe")
    assert ignored.status_code == 200 and "추천 4건" in text(ignored)


def test_the_organiser_decides_with_reasons_and_keeps_one_duplicate(w, reviewed):
    public_id, ids = reviewed
    refused = organiser(w).post(f"/campaigns/nominations/{ids['dup_a']}/decide", data={"action": "accept"})
    assert refused.status_code == 422 and "확인하지 않은 점검 결과(중복 추천)가 있어 선정할 수 없습니다." in text(refused)
    no_reason = organiser(w).post(f"/campaigns/nominations/{ids['clean']}/decide",
                                  data={"action": "reject", "note": "메모만"})
    assert no_reason.status_code == 422
    body = text(no_reason)
    assert re.search(r'id="reject_reason-error">제외 사유를 목록에서 고르세요\.', body) and "메모만" in body
    other = organiser(w).post(f"/campaigns/nominations/{ids['clean']}/decide",
                              data={"action": "reject", "reject_reason": "other"})
    assert other.status_code == 422 and "'기타'를 고르면 사유를 적어 주세요." in text(other)

    kept = organiser(w).post(f"/campaigns/nominations/{ids['dup_a']}/decide",
                             data={"action": "keep_duplicate", "note": ""})
    assert kept.status_code == 303
    assert "같은 가구의 다른 추천 1건은 중복으로 제외했습니다" in text(organiser(w).get(kept.headers["Location"]))
    assert load(w, w.organiser, Nomination, ids["dup_b"]).status is NominationStatus.REJECTED
    assert organiser(w).post(f"/campaigns/nominations/{ids['dup_a']}/decide",
                             data={"action": "accept"}).status_code == 303
    assert organiser(w).post(f"/campaigns/nominations/{ids['clean']}/decide",
                             data={"action": "accept", "note": "확인함"}).status_code == 303

    # The flag over c's quota: resolved with a note (none given: refused next to the field).
    with w.app.app_context(), acting_as(w.organiser.id, None):
        flag = db.session.scalar(select(Flag).where(Flag.kind == FlagKind.OVER_NOMINATOR_QUOTA.value))
    empty = organiser(w).post(f"/campaigns/flags/{flag.public_id}/resolve", data={"note": " "})
    assert empty.status_code == 422 and re.search(rf'id="flag-{flag.public_id}-note-error">필수 입력 항목입니다\.',
                                                   text(empty))
    resolved = organiser(w).post(f"/campaigns/flags/{flag.public_id}/resolve", data={"note": "구청과 협의해 예외 인정"})
    assert resolved.status_code == 303
    assert load(w, w.organiser, Flag, flag.public_id).status is FlagStatus.RESOLVED
    assert "구청과 협의해 예외 인정" in text(organiser(w).get(resolved.headers["Location"].split("#")[0]))

    # b learns its nomination was a duplicate, never whose nomination was kept.
    page = text(nominator(w, w.b).get(f"/campaigns/nominations/{ids['dup_b']}"))
    assert "중복 추천" in page and w.a.name not in page and "중복가" not in page


def test_finalising_allocates_tells_each_agency_and_deliveries_complete_the_campaign(w, reviewed):
    public_id, ids = reviewed
    for key in ("dup_a", "clean"):
        if key == "dup_a":
            organiser(w).post(f"/campaigns/nominations/{ids[key]}/decide", data={"action": "keep_duplicate"})
        assert organiser(w).post(f"/campaigns/nominations/{ids[key]}/decide",
                                 data={"action": "accept"}).status_code == 303
    organiser(w).post(f"/campaigns/nominations/{ids['over']}/decide",
                      data={"action": "reject", "reject_reason": "over_quota"})
    page = text(organiser(w).get(f"/campaigns/{public_id}"))
    assert "배분 확정" in page and f'name="units-{ids["clean"]}"' in page

    bad = organiser(w).post(f"/campaigns/{public_id}/finalise",
                            data={f"units-{ids['clean']}": "0", f"units-{ids['dup_a']}": "2", "submission_token": token()})
    assert bad.status_code == 422
    body = text(bad)
    assert re.search(rf'id="units-{ids["clean"]}-error">배정 수량은 1 이상이어야 합니다\.', body)
    assert re.search(rf'name="units-{ids["dup_a"]}"[^>]*value="2"', body)
    too_many = organiser(w).post(f"/campaigns/{public_id}/finalise",
                                 data={f"units-{ids['clean']}": "100", "submission_token": token()})
    assert too_many.status_code == 422
    assert "배정 수량 합계(101상자)가 재고(100상자)를 넘습니다." in text(too_many)

    form = {f"units-{ids['clean']}": "2", "submission_token": token()}
    done = organiser(w).post(f"/campaigns/{public_id}/finalise", data=form)
    assert done.status_code == 303
    assert organiser(w).post(f"/campaigns/{public_id}/finalise", data=form).status_code == 303  # double click
    assert "배분을 확정했습니다: 2가구, 3상자." in text(organiser(w).get(f"/campaigns/{public_id}"))
    assert load(w, w.organiser, Campaign, public_id).status is CampaignStatus.CONFIRMED

    results = text(nominator(w, w.c).get(f"/campaigns/{public_id}"))
    assert "선정 1가구, 제외 1가구" in results and "2상자 배정" in results and "배정 한도 초과" in results
    with w.app.app_context(), acting_as(w.c.id, None):
        assert db.session.scalar(select(Notification.body).where(Notification.kind == "campaign_result")) == \
            "선정 1가구, 제외 1가구"

    early = organiser(w).post(f"/campaigns/{public_id}/status/complete", data={"submission_token": token()})
    assert early.status_code == 422 and "지급 결과를 기록하지 않은 가구가 2곳 있습니다." in text(early)
    missing_note = nominator(w, w.c).post(f"/campaigns/nominations/{ids['clean']}/delivery",
                                          data={"status": "not_delivered"})
    assert missing_note.status_code == 422 and "지급하지 못한 사유를 적어 주세요." in text(missing_note)
    future = organiser(w).post(f"/campaigns/nominations/{ids['clean']}/delivery",
                               data={"status": "delivered", "delivered_on": (TODAY + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and "미래 날짜는 입력할 수 없습니다." in text(future)
    assert nominator(w, w.c).post(f"/campaigns/nominations/{ids['clean']}/delivery",
                                  data={"status": "delivered", "delivered_on": TODAY.isoformat()}).status_code == 303
    assert organiser(w).post(f"/campaigns/nominations/{ids['dup_a']}/delivery",
                             data={"status": "not_delivered", "note": "연락 두절"}).status_code == 303
    assert load(w, w.organiser, Nomination, ids["clean"]).delivery_status is DeliveryStatus.DELIVERED
    assert "지급 완료" in text(nominator(w, w.c).get(f"/campaigns/nominations/{ids['clean']}"))
    completed = organiser(w).post(f"/campaigns/{public_id}/status/complete", data={"submission_token": token()})
    assert completed.status_code == 303
    assert load(w, w.organiser, Campaign, public_id).status is CampaignStatus.COMPLETED


# -- who may do what ---------------------------------------------------------------------------------------------

def test_the_wrong_side_gets_403_and_everyone_else_404(w, reviewed):
    public_id, ids = reviewed
    a = nominator(w, w.a)
    # An invited agency: its own nomination is readable, the organiser's steps are refused.
    assert a.get(f"/campaigns/nominations/{ids['dup_a']}").status_code == 200
    assert a.post(f"/campaigns/nominations/{ids['dup_a']}/decide", data={"action": "accept"}).status_code == 403
    assert a.get(f"/campaigns/{public_id}/edit").status_code == 403
    assert a.post(f"/campaigns/{public_id}/status/complete", data={}).status_code == 403
    # Its own nomination to another agency's nomination: not found.
    assert a.get(f"/campaigns/nominations/{ids['clean']}").status_code == 404
    # The organiser cannot nominate or withdraw for an agency.
    assert organiser(w).post(f"/campaigns/nominations/{ids['clean']}/withdraw", data={}).status_code == 403
    assert organiser(w).get(f"/campaigns/{public_id}/nominate").status_code == 403
    # A case manager of the organising tenant without the organiser's role.
    bureau = browser(w, w.bureau_worker)
    assert bureau.get(f"/campaigns/{public_id}").status_code == 403
    assert bureau.get(f"/campaigns/nominations/{ids['clean']}").status_code == 403
    # An agency that was not invited.
    outsider = nominator(w, w.outsider)
    for path in (f"/campaigns/{public_id}", f"/campaigns/nominations/{ids['clean']}", f"/campaigns/{public_id}/nominate"):
        assert outsider.get(path).status_code == 404, path
    assert outsider.get("/campaigns").status_code == 200
    assert "2026 사랑의 김장김치 나눔" not in text(outsider.get("/campaigns"))
    with w.app.app_context(), acting_as(w.organiser.id, None):
        assert db.session.scalar(select(Nomination.status).where(Nomination.public_id == ids["dup_a"])) is \
            NominationStatus.SUBMITTED


def test_the_organiser_has_a_link_to_the_figures_and_an_agency_has_none(w):
    public_id = w.campaign()
    overview = '<a class="krds-btn tertiary" href="/campaign-figures/">통계</a>'
    one = f'<a class="krds-btn tertiary" href="/campaign-figures/{public_id}">통계</a>'
    assert overview in text(organiser(w).get("/campaigns"))
    assert one in text(organiser(w).get(f"/campaigns/{public_id}"))
    assert organiser(w).get("/campaign-figures/").status_code == 200
    assert organiser(w).get(f"/campaign-figures/{public_id}").status_code == 200
    # An invited agency reads the same campaign, with no way to figures it may not open.
    a = nominator(w, w.a)
    for path in ("/campaigns", f"/campaigns/{public_id}"):
        page = a.get(path)
        assert page.status_code == 200 and "2026 사랑의 김장김치 나눔" in text(page)
        assert "/campaign-figures" not in text(page) and ">통계<" not in text(page), path
    assert a.get(f"/campaign-figures/{public_id}").status_code == 403  # a case manager: not a reader


def test_the_organisers_view_of_a_nominee_is_access_logged_and_the_list_is_not(w, reviewed):
    public_id, ids = reviewed

    def entries():
        with w.app.app_context(), acting_as(w.c.id, None):
            return db.session.scalars(select(AccessLogEntry).where(
                AccessLogEntry.what == "campaign_nomination", AccessLogEntry.user_id == w.organiser_user.id)).all()

    organiser(w).get(f"/campaigns/{public_id}")
    assert entries() == []
    page = text(organiser(w).get(f"/campaigns/nominations/{ids['clean']}"))
    assert "깨끗한" in page
    logged = entries()
    assert [(e.action.value, e.client_tenant_id) for e in logged] == [("view", w.c.id)]


def test_the_campaign_page_takes_the_same_number_of_queries_for_few_and_many_nominations(w, reviewed):
    public_id, ids = reviewed

    def queries():
        with w.app.app_context(), count_queries() as n:
            assert organiser(w).get(f"/campaigns/{public_id}").status_code == 200
        return n()

    few = queries()
    with w.app.app_context(), acting_as(w.organiser.id, None):
        db.session.execute(db.update(Campaign).where(Campaign.public_id == public_id)
                           .values(status=CampaignStatus.OPEN.value))
        db.session.commit()
    for n in range(4):
        person = w.client(w.a, w.d2, rrn_for(born(1930 + n)))
        nomination_id_from(post_nomination(w, w.a, public_id, person))
    with w.app.app_context(), acting_as(w.organiser.id, None):
        db.session.execute(db.update(Campaign).where(Campaign.public_id == public_id)
                           .values(status=CampaignStatus.REVIEW.value))
        db.session.commit()
    assert queries() == few


def test_after_consent_is_withdrawn_the_organiser_no_longer_sees_the_nominee(w):
    from hanaro.clients.models import Consent

    public_id = w.campaign()
    person = w.client(w.a, w.d1, rrn_for(born(1939)), name="철회할분")
    nomination_id = nomination_id_from(post_nomination(w, w.a, public_id, person))
    assert "철회할분" in text(organiser(w).get(f"/campaigns/nominations/{nomination_id}"))
    with w.app.app_context(), acting_as(w.a.id, None):
        consent_id = db.session.scalar(select(Consent.public_id).where(Consent.client_id == person.id))
    withdrawn = nominator(w, w.a).post(f"/clients/{person.public_id}/consents/{consent_id}/withdraw",
                                       data={"reason": "본인 요청"})
    assert withdrawn.status_code == 303

    def views():
        with w.app.app_context(), acting_as(w.a.id, None):
            return db.session.scalar(select(func.count()).select_from(AccessLogEntry).where(
                AccessLogEntry.user_id == w.organiser_user.id, AccessLogEntry.what == "campaign_nomination"))

    before = views()
    page = text(organiser(w).get(f"/campaigns/nominations/{nomination_id}"))
    assert "철회할분" not in page and "정보제공 동의를 철회해" in page and "철회" in page
    assert "(동의 철회)" in text(organiser(w).get(f"/campaigns/{public_id}"))
    assert views() == before  # nothing of the nominee shown, nothing logged


def test_after_consent_is_withdrawn_the_organiser_no_longer_reads_the_nomination_reason(w):
    from hanaro.clients.models import Consent

    public_id = w.campaign()
    person = w.client(w.a, w.d1, rrn_for(born(1941)), name="사유철회")
    reason = "아들의 실직으로 석 달째 월세가 밀렸습니다."
    nomination_id = nomination_id_from(post_nomination(w, w.a, public_id, person, reason=reason))
    assert reason in text(organiser(w).get(f"/campaigns/nominations/{nomination_id}"))
    with w.app.app_context(), acting_as(w.a.id, None):
        consent_id = db.session.scalar(select(Consent.public_id).where(Consent.client_id == person.id))
    assert nominator(w, w.a).post(f"/clients/{person.public_id}/consents/{consent_id}/withdraw",
                                  data={"reason": "본인 요청"}).status_code == 303
    page = text(organiser(w).get(f"/campaigns/nominations/{nomination_id}"))
    assert reason not in page and "대상자가 동의를 철회하여 내용을 볼 수 없습니다." in page
    own = text(nominator(w, w.a).get(f"/campaigns/nominations/{nomination_id}"))
    assert reason in own and "대상자가 동의를 철회하여 내용을 볼 수 없습니다." not in own
