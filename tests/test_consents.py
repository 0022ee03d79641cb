"""Consent (정보제공 동의): recorded with evidence, checked before sharing, withdrawn at once."""
from __future__ import annotations

import io

from sqlalchemy import select

from hanaro.clients import service as clients
from hanaro.clients.models import ClientAccessGrant, Consent, ConsentPurpose, GrantReason, GrantStatus
from hanaro.core.db import db
from hanaro.notifications.models import Notification
from hanaro.tenancy.context import acting_as

VALID = {"scope": "case_team", "purposes": ["case_collaboration"], "granted_on": "2026-02-01",
         "evidence_reference": "동의서-2026-001"}


def _consents(app, tenant):
    with app.app_context(), acting_as(tenant.id, None):
        return db.session.scalars(select(Consent)).all()


def test_recording_a_consent_with_a_document_number(app, signed_in, make):
    browser, _, tenant = signed_in("case_manager")
    someone = make.client(tenant)
    response = browser.post(f"/clients/{someone.public_id}/consents/new", data=VALID)
    assert response.status_code == 303
    page = browser.get(f"/clients/{someone.public_id}").get_data(as_text=True)
    assert "사례관리 팀에 참여하는 기관" in page and "동의서-2026-001" in page and "유효" in page


def test_an_uploaded_consent_form_is_kept_and_its_download_is_logged(app, signed_in, make):
    browser, _, tenant = signed_in("case_manager")
    someone = make.client(tenant)
    pdf = b"%PDF-1.4 consent"
    data = {**VALID, "evidence_reference": "", "evidence_file": (io.BytesIO(pdf), "동의서.pdf", "application/pdf")}
    assert browser.post(f"/clients/{someone.public_id}/consents/new", data=data,
                        content_type="multipart/form-data").status_code == 303
    consent = _consents(app, tenant)[0]
    download = browser.get(f"/clients/{someone.public_id}/consents/{consent.public_id}/evidence")
    assert download.status_code == 200 and download.data == pdf
    from hanaro.audit.models import AccessLogEntry

    with app.app_context(), acting_as(tenant.id, None):
        assert db.session.scalar(select(AccessLogEntry.what).where(AccessLogEntry.what == "consent_evidence"))


def test_consent_form_errors(signed_in, make):
    browser, _, tenant = signed_in("case_manager")
    someone = make.client(tenant)
    url = f"/clients/{someone.public_id}/consents/new"
    empty = browser.post(url, data={"scope": "tenants", "granted_on": "2026-02-01"}).get_data(as_text=True)
    assert "동의 목적을 하나 이상 고르세요." in empty
    no_tenants = browser.post(url, data={**VALID, "scope": "tenants"}).get_data(as_text=True)
    assert 'id="tenants-error"' in no_tenants and "기관을 하나 이상 고르세요" in no_tenants
    backwards = browser.post(url, data={**VALID, "expires_on": "2026-01-01"}).get_data(as_text=True)
    assert "만료일은 동의일 이후여야 합니다." in backwards
    no_evidence = browser.post(url, data={**VALID, "evidence_reference": ""}).get_data(as_text=True)
    assert "동의서 파일을 올리거나 문서번호를 입력하세요." in no_evidence
    wrong_type = browser.post(url, data={**VALID, "evidence_file": (io.BytesIO(b"x"), "a.exe", "application/x-msdownload")},
                              content_type="multipart/form-data").get_data(as_text=True)
    assert "PDF, JPG, PNG 파일만 올릴 수 있습니다." in wrong_type
    assert 'value="동의서-2026-001"' in wrong_type  # typed input kept


def test_what_a_consent_covers(app, ctx, make):
    province = make.province()
    owner, listed, same_region = make.tenant(region=province), make.tenant(region=province), make.tenant(region=province)
    elsewhere = make.tenant(region=make.region(code="9700000000", level="province"))
    someone = make.client(owner)
    listed_only = make.consent(someone, scope="tenants", tenants=[listed], purposes=["referral"])
    regional = make.consent(someone, scope="region", purposes=["case_collaboration"], includes_health=True)
    from datetime import date
    from hanaro.tenancy.models import Tenant

    with acting_as(owner.id, None):
        client = clients.get_client_or_404(someone.public_id)
        day = date(2026, 6, 1)
        t = {x.id: db.session.get(Tenant, x.id) for x in (listed, same_region, elsewhere)}
        assert clients.covers(db.session.get(Consent, listed_only.id), client, t[listed.id], ConsentPurpose.REFERRAL, day)
        assert not clients.covers(db.session.get(Consent, listed_only.id), client, t[same_region.id], ConsentPurpose.REFERRAL, day)
        assert not clients.covers(db.session.get(Consent, listed_only.id), client, t[listed.id], ConsentPurpose.CASE_COLLABORATION, day)
        assert clients.covers(db.session.get(Consent, regional.id), client, t[same_region.id], ConsentPurpose.CASE_COLLABORATION, day, health=True)
        assert not clients.covers(db.session.get(Consent, regional.id), client, t[elsewhere.id], ConsentPurpose.CASE_COLLABORATION, day)
        assert not clients.covers(db.session.get(Consent, listed_only.id), client, t[listed.id], ConsentPurpose.REFERRAL, date(2025, 12, 31))


def test_withdrawal_revokes_grants_and_notifies_the_tenants_that_lose_access(app, signed_in, make):
    browser, user, owner = signed_in("case_manager")
    partner = make.tenant(name="협력기관")
    partner_user = make.member(partner, roles=["case_manager"])
    someone = make.client(owner, name="공유대상자")
    consent = make.consent(someone)
    with app.app_context(), acting_as(owner.id, user.id):
        client = clients.get_client_or_404(someone.public_id)
        clients.grant_access(client, partner.id, db.session.get(Consent, consent.id), GrantReason.CASE,
                             status=GrantStatus.ACTIVE)
        db.session.commit()
    partner_browser = app.test_client()
    from .helpers import login

    login(partner_browser, partner_user.email)
    assert partner_browser.get(f"/clients/{someone.public_id}").status_code == 200  # shared, read-only

    no_reason = browser.post(f"/clients/{someone.public_id}/consents/{consent.public_id}/withdraw", data={"reason": ""})
    assert no_reason.status_code == 422
    response = browser.post(f"/clients/{someone.public_id}/consents/{consent.public_id}/withdraw",
                            data={"reason": "대상자 요청"})
    assert response.status_code == 303
    assert "1곳의 접근이 즉시 중단" in browser.get(response.headers["Location"]).get_data(as_text=True)
    assert partner_browser.get(f"/clients/{someone.public_id}").status_code == 404
    with app.app_context(), acting_as(partner.id, None):
        notes = db.session.scalars(select(Notification)).all()
        assert [n.kind for n in notes] == ["consent_withdrawn"]
        assert "공유대상자" not in notes[0].title + (notes[0].body or "")  # no personal data in the text
    with app.app_context(), acting_as(owner.id, None):
        assert db.session.scalars(select(ClientAccessGrant.status)).all() == [GrantStatus.REVOKED]
    again = browser.post(f"/clients/{someone.public_id}/consents/{consent.public_id}/withdraw", data={"reason": "다시"})
    assert again.status_code == 422 and "이미 철회된 동의입니다." in again.get_data(as_text=True)


HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_evidence_is_judged_by_its_content_not_the_declared_type(app, signed_in, make):
    browser, _, tenant = signed_in("case_manager")
    someone = make.client(tenant)
    url = f"/clients/{someone.public_id}/consents/new"
    for content, name in ((HTML, "동의서.pdf"), (b"MZ\x90\x00\x03\x00\x00\x00", "동의서.pdf")):
        data = {**VALID, "evidence_reference": "동의서-스캔-7", "evidence_file": (io.BytesIO(content), name, "application/pdf")}
        response = browser.post(url, data=data, content_type="multipart/form-data")
        page = response.get_data(as_text=True)
        assert response.status_code == 422, name
        assert 'id="evidence_file-error"' in page and "파일 내용이 확장자와 맞지 않습니다." in page
        assert 'value="동의서-스캔-7"' in page  # what was typed is kept
    assert _consents(app, tenant) == []


def test_evidence_is_stored_and_served_as_what_it_is(app, signed_in, make):
    browser, _, tenant = signed_in("case_manager")
    someone = make.client(tenant)
    data = {**VALID, "evidence_file": (io.BytesIO(PNG), "동의서.png", "application/pdf")}  # the browser says PDF
    assert browser.post(f"/clients/{someone.public_id}/consents/new", data=data,
                        content_type="multipart/form-data").status_code == 303
    consent = _consents(app, tenant)[0]
    assert consent.evidence_content_type == "image/png"
    download = browser.get(f"/clients/{someone.public_id}/consents/{consent.public_id}/evidence")
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_evidence_stored_with_a_declared_type_is_served_by_its_content(app, signed_in, make):
    """Rows kept from before uploads were typed by content: what the browser said is never served."""
    browser, _, tenant = signed_in("case_manager")
    someone = make.client(tenant)
    assert browser.post(f"/clients/{someone.public_id}/consents/new", data=VALID).status_code == 303
    consent = _consents(app, tenant)[0]
    with app.app_context(), acting_as(tenant.id, None):
        stored = db.session.get(Consent, consent.id)
        stored.evidence_content, stored.evidence_content_type = HTML, "text/html"
        db.session.commit()
    download = browser.get(f"/clients/{someone.public_id}/consents/{consent.public_id}/evidence")
    assert download.status_code == 200 and download.headers["Content-Type"] == "application/octet-stream"
    assert download.headers["Content-Disposition"].startswith("attachment")
