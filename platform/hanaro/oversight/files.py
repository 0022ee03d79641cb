"""Inspection photos and corrective-action evidence: typed and size-limited as referral
attachments are (the type judged by extension *and* by the file's first bytes), stored in the
database, read by whoever reads the record they belong to."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from ..core.db import db
from ..core.rules import RuleViolation
from ..referrals.service import ATTACHMENT_TYPES, MAX_ATTACHMENT_BYTES
from ..tenancy import context
from .models import FileKind, OversightFile

PHOTO_EXTENSIONS = ("jpg", "jpeg", "png")
MAX_FILES = 10  # per checklist item, per answer
TYPE_REFUSALS = {
    FileKind.PHOTO: _l("사진은 JPG, PNG 파일만 올릴 수 있습니다."),
    FileKind.EVIDENCE: _l("PDF, 이미지(JPG, PNG), 한글(HWP, HWPX), 워드, 엑셀 파일만 첨부할 수 있습니다."),
}


def _allowed(kind: FileKind) -> dict:
    if kind is FileKind.PHOTO:
        return {ext: ATTACHMENT_TYPES[ext] for ext in PHOTO_EXTENSIONS}
    return ATTACHMENT_TYPES


def check(kind: FileKind, filename: str, content: bytes) -> tuple[str, str]:
    """The file's cleaned name and content type, or a RuleViolation on the ``file`` field."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:200]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not content:
        raise RuleViolation(_l("올릴 파일을 고르세요."), field="file")
    allowed = _allowed(kind)
    if extension not in allowed or not content.startswith(allowed[extension][1]):
        raise RuleViolation(TYPE_REFUSALS[kind], field="file")
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise RuleViolation(_l("파일은 5MB 이하만 올릴 수 있습니다."), field="file")
    return name, allowed[extension][0]


def add(kind: FileKind, record, filename: str, content: bytes, actor, **links) -> OversightFile:
    """A checked file attached to ``record``'s facility (owned by its municipality) and to the rows
    named in ``links`` (inspection_id, item_id, action_id, event_id)."""
    name, content_type = check(kind, filename, content)
    stored = OversightFile(tenant_id=record.tenant_id, facility_id=record.facility_id, kind=kind, filename=name,
                           content_type=content_type, size=len(content), content=content,
                           uploader_tenant_id=context.current_tenant_id(),
                           uploaded_by_user_id=actor.id if actor else None, **links)
    db.session.add(stored)
    db.session.flush()
    return stored


def check_count(existing: int, adding: int = 1) -> None:
    if existing + adding > MAX_FILES:
        raise RuleViolation(_l("파일은 %(n)s개까지 올릴 수 있습니다.", n=MAX_FILES), field="file")


def get_file_or_404(public_id: str) -> OversightFile:
    """A photo or evidence file of a record the active tenant may read; anyone else gets 404."""
    stored = db.session.scalar(select(OversightFile).where(OversightFile.public_id == public_id).limit(1))
    if stored is None:
        raise NotFound()
    return stored
