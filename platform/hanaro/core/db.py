"""The database handle, the naming convention and the column types shared by every model."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, DateTime, Enum, Integer, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Stable constraint names keep Alembic diffs clean on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT identity on PostgreSQL (Citus-ready), INTEGER on SQLite so ROWID autoincrement works.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given; use hanaro.core.db.utcnow()")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def enum_column(enum_class, length: int = 20) -> Enum:
    """A VARCHAR holding the enum's *values* (what RLS policies and reports compare against)."""
    return Enum(enum_class, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_public_id() -> str:
    """An unguessable identifier for URLs: global row ids never leave the server. It starts with a
    letter or digit: a leading '-' would make spreadsheet exports neutralise it as a formula."""
    while True:
        public_id = secrets.token_urlsafe(12)
        if public_id[0].isalnum():
            return public_id


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


class IdMixin:
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)


class PublicIdMixin:
    # Unique per tenant on tenant-owned tables (Citus needs the distribution column in
    # every unique key), globally unique on global ones: each model declares which.
    public_id: Mapped[str] = mapped_column(String(24), index=True, default=new_public_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


def make_sqlite_transactions_real(engine) -> None:
    """pysqlite (Python 3.11) starts transactions lazily and breaks SAVEPOINT; let SQLAlchemy emit
    BEGIN itself so nested transactions (idempotency claims, per-test rollbacks) really nest, and let
    concurrent requests queue for the single writer."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None
        # Concurrent requests wait for each other instead of failing with "database is locked".
        dbapi_connection.execute("PRAGMA busy_timeout = 10000")
        dbapi_connection.execute("PRAGMA journal_mode = WAL")

    @event.listens_for(engine, "begin")
    def _begin(connection):
        # Most requests write (sessions, the access log). A deferred transaction that reads and then
        # writes fails at once when another writer got there first, waiting cannot help; IMMEDIATE
        # takes the write lock up front, so writers queue (busy_timeout) and readers carry on (WAL).
        connection.exec_driver_sql("BEGIN IMMEDIATE")
