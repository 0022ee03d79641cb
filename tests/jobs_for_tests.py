"""Jobs used by the job tests (importable by path, as real jobs are)."""
from sqlalchemy import select

from hanaro.core.db import db
from hanaro.tenancy.models import Membership


def visible_membership_tenants() -> list[int]:
    return sorted({m.tenant_id for m in db.session.scalars(select(Membership))})
