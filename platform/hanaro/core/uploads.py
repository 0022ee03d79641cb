"""Every uploaded file is judged by its content (its first bytes, or a zip's table of contents),
never by the type the browser declared: a file is accepted only when its content is one of the
kinds allowed for that use and agrees with its extension. What is stored and served as the
file's content type is always the detected one.

A short signature table rather than a library: the kinds Korean offices exchange (HWP, HWPX)
are in no small library, and the zip-based ones (XLSX, DOCX, HWPX) must be told apart by their
parts anyway, which ``zipfile`` does by reading the central directory only (nothing is unpacked).
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .rules import RuleViolation


@dataclass(frozen=True)
class Kind:
    name: str
    label: object  # what users call it, in messages
    content_type: str
    extensions: tuple[str, ...]
    image: bool = False
    unreadable: object = None  # the refusal when a file named as this kind is not one, if more helpful


KINDS = {kind.name: kind for kind in (
    Kind("pdf", "PDF", "application/pdf", ("pdf",)),
    Kind("jpeg", "JPG", "image/jpeg", ("jpg", "jpeg"), image=True),
    Kind("png", "PNG", "image/png", ("png",), image=True),
    Kind("webp", "WebP", "image/webp", ("webp",), image=True),
    Kind("hwp", _l("한글(HWP)"), "application/x-hwp", ("hwp",)),
    Kind("hwpx", _l("한글(HWPX)"), "application/hwp+zip", ("hwpx",)),
    Kind("docx", _l("워드(DOCX)"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         ("docx",)),
    Kind("xlsx", _l("엑셀(XLSX)"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",),
         unreadable=_l("Excel 파일을 읽을 수 없습니다. .xlsx 형식으로 저장했는지 확인하세요.")),
    Kind("csv", "CSV", "text/csv", ("csv",),
         unreadable=_l("파일의 글자를 읽을 수 없습니다. UTF-8 또는 CP949(엑셀 CSV) 인코딩으로 저장하세요.")),
)}
BY_EXTENSION = {extension: kind for kind in KINDS.values() for extension in kind.extensions}

PHOTOS = ("jpeg", "png")
SCREENSHOTS = ("png", "jpeg", "webp")
DOCUMENTS = ("pdf", "jpeg", "png", "hwp", "hwpx", "docx", "xlsx")
SIGNED_FORMS = ("pdf", "jpeg", "png")
TABLES = ("csv", "xlsx")

MISMATCH = _l("파일 내용이 확장자와 맞지 않습니다.")
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the compound file HWP 5 shares with old Word/Excel files
HWP_SIGNATURE = b"HWP Document File"  # the start of an HWP 5 FileHeader stream, and of an HWP 3 file


@dataclass(frozen=True)
class Upload:
    name: str
    kind: Kind
    content: bytes

    @property
    def content_type(self) -> str:
        return self.kind.content_type

    @property
    def size(self) -> int:
        return len(self.content)


def read(storage, max_bytes: int) -> tuple[str, bytes]:
    """A chosen file's name and content, read up to one byte over the limit (enough to refuse it)."""
    return storage.filename or "", storage.stream.read(max_bytes + 1)


def check(content: bytes | None, filename: str | None, allowed: Iterable[str], *, field: str, max_bytes: int,
          missing=None, unnamed: bool = False) -> Upload:
    """The upload with its detected kind, or a RuleViolation on ``field``. The name must end in
    an allowed kind's extension, or have none at all where ``unnamed`` (pasted screenshots); images
    named as another image kind (a PNG saved as .jpg) are accepted as what they are."""
    kinds = [KINDS[name] for name in allowed]
    if not content:
        raise RuleViolation(missing or _l("올릴 파일을 고르세요."), field=field)
    if len(content) > max_bytes:
        raise RuleViolation(_l("파일은 %(size)s 이하만 올릴 수 있습니다.", size=describe_size(max_bytes)), field=field)
    name = clean_name(filename)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    named = BY_EXTENSION.get(extension)
    if named not in kinds and (extension or not unnamed):
        raise RuleViolation(only(kinds), field=field)
    detected = detect(content)
    if detected not in kinds or (named is not None and not _agree(named, detected)):
        raise RuleViolation((named and named.unreadable) or MISMATCH, field=field)
    return Upload(name, detected, content)


def only(kinds: Iterable[Kind]) -> str:
    return _("%(kinds)s 파일만 올릴 수 있습니다.", kinds=", ".join(str(kind.label) for kind in kinds))


def accept(allowed: Iterable[str]) -> str:
    """The ``accept`` attribute of a file input for these kinds."""
    return ",".join("." + extension for name in allowed for extension in KINDS[name].extensions)


def describe_size(size: int) -> str:
    return f"{size // (1024 * 1024)}MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)}KB"


def clean_name(filename: str | None) -> str:
    """The name without any folder part, at most 200 characters."""
    return (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]


def _agree(named: Kind, detected: Kind) -> bool:
    return named is detected or (named.image and detected.image)


# -- detection -------------------------------------------------------------------------------------

def detect(content: bytes) -> Kind | None:
    """The kind the bytes are, whatever the file is called; None for anything else."""
    if content.startswith(b"%PDF-"):
        return KINDS["pdf"]
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return KINDS["png"]
    if content.startswith(b"\xff\xd8\xff"):
        return KINDS["jpeg"]
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return KINDS["webp"]
    if content.startswith(HWP_SIGNATURE) or (content.startswith(OLE) and HWP_SIGNATURE in content):
        return KINDS["hwp"]
    if content.startswith(b"PK\x03\x04"):
        return _zip_kind(content)
    if text_of(content) is not None:
        return KINDS["csv"]
    return None


def _zip_kind(content: bytes) -> Kind | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None
    office = "[Content_Types].xml" in names
    if office and any(n.startswith("xl/") for n in names):
        return KINDS["xlsx"]
    if office and any(n.startswith("word/") for n in names):
        return KINDS["docx"]
    if "mimetype" in names and any(n.startswith("Contents/") for n in names):
        return KINDS["hwpx"]
    return None


def text_of(content: bytes) -> str | None:
    """The content as text: UTF-8 (with or without BOM), else CP949, the encoding Korean Excel
    saves CSV in; None for anything binary."""
    if b"\x00" in content:
        return None
    for encoding in ("utf-8-sig", "cp949"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


# -- archives ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ArchiveLimits:
    unpacked: int  # all members together
    member: int  # any one member
    members: int
    ratio: int  # unpacked / packed, for members larger than a megabyte


def check_archive(content: bytes, limits: ArchiveLimits, *, field: str, refusal) -> None:
    """Refuse a zip (XLSX, DOCX, HWPX) that would unpack beyond ``limits``, from the sizes in its
    central directory, before anything is unpacked. Those sizes bind: ``zipfile`` never unpacks
    more than a member's recorded size, and a member whose data does not match fails its CRC."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise RuleViolation(MISMATCH, field=field) from None
    too_big = (
        len(members) > limits.members
        or sum(m.file_size for m in members) > limits.unpacked
        or any(m.file_size > limits.member for m in members)
        or any(m.file_size > 1024 * 1024 and m.file_size > limits.ratio * max(m.compress_size, 1) for m in members)
    )
    if too_big:
        raise RuleViolation(refusal, field=field)
