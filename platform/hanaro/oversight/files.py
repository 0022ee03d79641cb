"""Inspection photos and corrective-action evidence: typed by their content (``core.uploads``)
and size-limited as referral attachments are, stored in the database, read by whoever reads the
record they belong to."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from ..core import uploads
from ..core.db import db
from ..core.rules import RuleViolation
from ..referrals.service import MAX_ATTACHMENT_BYTES
from ..tenancy import context
from .models import FileKind, OversightFile

MAX_FILES = 10  # per checklist item, per answer
ALLOWED = {FileKind.PHOTO: uploads.PHOTOS, FileKind.EVIDENCE: uploads.DOCUMENTS}


def check(kind: FileKind, filename: str, content: bytes) -> uploads.Upload:
    """The checked file (cleaned name, detected type), or a RuleViolation on the ``file`` field."""
    return uploads.check(content, filename, ALLOWED[kind], field="file", max_bytes=MAX_ATTACHMENT_BYTES)


def add(kind: FileKind, record, filename: str, content: bytes, actor, **links) -> OversightFile:
    """A checked file attached to ``record``'s facility (owned by its municipality) and to the rows
    named in ``links`` (inspection_id, item_id, action_id, event_id)."""
    upload = check(kind, filename, content)
    stored = OversightFile(tenant_id=record.tenant_id, facility_id=record.facility_id, kind=kind,
                           filename=upload.name or "file", content_type=upload.content_type, size=upload.size,
                           content=content,
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
