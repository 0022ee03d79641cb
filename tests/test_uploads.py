"""Uploads are judged by their content (hanaro.core.uploads) and oversized requests are refused
before they are parsed, with a Korean page (or, for htmx, a Korean fragment), never a 500."""
from __future__ import annotations

import io
import zipfile

import pytest

from hanaro import config
from hanaro.core import uploads
from hanaro.core.rules import RuleViolation

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
HTML = b"<!DOCTYPE html><html><body><script>fetch('/')</script></body></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00"
HWP = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200 + b"HWP Document File" + b"\x00" * 32
OLD_WORD = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 200  # .doc: the same container, not HWP


def _zip(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


XLSX = _zip("[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml")
DOCX = _zip("[Content_Types].xml", "word/document.xml")
HWPX = _zip("mimetype", "Contents/header.xml", "Contents/section0.xml")
JAR = _zip("META-INF/MANIFEST.MF", "a/Main.class")


@pytest.mark.parametrize("content, kind", [
    (PDF, "pdf"), (PNG, "png"), (JPEG, "jpeg"), (WEBP, "webp"), (HWP, "hwp"), (XLSX, "xlsx"), (DOCX, "docx"),
    (HWPX, "hwpx"), ("이름,나이\r\n홍길동,70".encode("utf-8-sig"), "csv"), ("이름,나이".encode("cp949"), "csv"),
    (HTML, "csv"),  # text, which only a CSV may be
    (EXE, None), (OLD_WORD, None), (JAR, None), (b"PK\x03\x04 broken", None), ("표".encode("utf-16"), None),
])
def test_the_kind_comes_from_the_bytes(content, kind):
    detected = uploads.detect(content)
    assert (detected.name if detected else None) == kind


def _check(content, name, allowed=uploads.DOCUMENTS, **options):
    return uploads.check(content, name, allowed, field="file", max_bytes=1024 * 1024, **options)


@pytest.mark.parametrize("content, name", [
    (HTML, "안내문.pdf"), (EXE, "안내문.pdf"), (HTML, "사진.png"), (EXE, "사진.jpg"), (PDF, "사진.png"),
    (OLD_WORD, "계획서.hwp"), (DOCX, "명단.xlsx"), (JAR, "명단.xlsx"), (XLSX, "계획서.hwpx"),
])
def test_content_that_is_not_what_the_name_says_is_refused(app, content, name):
    with app.test_request_context(), pytest.raises(RuleViolation) as refused:
        _check(content, name)
    assert refused.value.field == "file"
    assert refused.value.message in ("파일 내용이 확장자와 맞지 않습니다.",
                                     "Excel 파일을 읽을 수 없습니다. .xlsx 형식으로 저장했는지 확인하세요.")


def test_names_outside_the_allowed_kinds_are_refused_with_the_list(app):
    with app.test_request_context():
        for name in ("setup.exe", "page.html", "그림.gif", "이름없음"):
            with pytest.raises(RuleViolation, match="^PDF, JPG, PNG 파일만 올릴 수 있습니다.$"):
                _check(PDF, name, uploads.SIGNED_FORMS)
        with pytest.raises(RuleViolation, match="^파일은 1MB 이하만 올릴 수 있습니다.$"):
            _check(PDF + b"0" * 1024 * 1024, "큰.pdf")
        with pytest.raises(RuleViolation, match="^올릴 파일을 고르세요.$"):
            _check(b"", "빈.pdf")


def test_accepted_files_carry_the_detected_type_and_a_clean_name(app):
    with app.test_request_context():
        upload = _check(PDF, "C:\\Users\\kim\\동의서.PDF")
        assert (upload.name, upload.content_type, upload.size) == ("동의서.PDF", "application/pdf", len(PDF))
        assert _check(PNG, "사진.jpg").content_type == "image/png"  # an image saved under another image's name
        assert _check(HWP, "계획서.hwp").content_type == "application/x-hwp"
        assert _check(PNG, "붙여넣은 그림", uploads.SCREENSHOTS, unnamed=True).content_type == "image/png"
        assert uploads.accept(uploads.SIGNED_FORMS) == ".pdf,.jpg,.jpeg,.png"


# -- the request size limit ------------------------------------------------------------------------------------

def test_the_request_size_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("HANARO_MAX_REQUEST_MB", raising=False)
    assert config.from_environment()["MAX_CONTENT_LENGTH"] == 60 * 1024 * 1024
    monkeypatch.setenv("HANARO_MAX_REQUEST_MB", "25")
    assert config.from_environment()["MAX_CONTENT_LENGTH"] == 25 * 1024 * 1024


@pytest.fixture
def small_limit(app):
    before = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    yield
    app.config["MAX_CONTENT_LENGTH"] = before


def _oversized(browser, url, headers=None):
    data = {"scope": "case_team", "evidence_file": (io.BytesIO(PDF + b"0" * 100 * 1024), "동의서.pdf")}
    return browser.post(url, data=data, content_type="multipart/form-data", headers=headers or {})


def test_an_oversized_request_gets_a_korean_page_and_changes_nothing(app, signed_in, make, small_limit):
    browser, _, tenant = signed_in("case_manager")
    someone = make.client(tenant)
    response = _oversized(browser, f"/clients/{someone.public_id}/consents/new")
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "<html" in page and "보낸 내용이 너무 큽니다" in page and "64KB" in page and 'role="alert"' in page
    assert "작은 파일로 나누어" in page


def test_an_oversized_htmx_request_gets_a_fragment_for_its_target(app, signed_in, make, small_limit):
    browser, _, tenant = signed_in("case_manager")
    someone = make.client(tenant)
    response = _oversized(browser, f"/clients/{someone.public_id}/consents/new",
                          headers={"HX-Request": "true", "HX-Target": "feedback-panel"})
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "<html" not in page and 'role="alert"' in page and "64KB" in page
