"""Bulk loading through COPY, one table at a time, checked against the models' tables."""
from __future__ import annotations

import json
from contextlib import contextmanager

from sqlalchemy import JSON


def raw_connection(connection):
    """The psycopg 3 connection under a SQLAlchemy Connection (or the psycopg connection itself)."""
    dbapi = getattr(connection, "connection", None)
    return getattr(dbapi, "driver_connection", None) or connection


def metadata():
    """Every model's table (importing the models registers them)."""
    import hanaro
    from ..core.db import db

    hanaro._register_models()
    return db.metadata


class Loader:
    """COPYs rows into tables on one superuser connection with triggers and FK checks off
    (``session_replication_role = replica``); counts what it wrote."""

    def __init__(self, connection):
        self.conn = raw_connection(connection)
        self.tables = metadata().tables
        self.counts: dict[str, int] = {}
        self.conn.execute("SET session_replication_role = replica")

    def _check(self, table: str, columns: tuple[str, ...]) -> list[bool]:
        model = self.tables[table]
        unknown = set(columns) - set(model.columns.keys())
        missing = {c.name for c in model.columns if not c.nullable} - set(columns)
        if unknown or missing:
            raise ValueError(f"{table}: unknown columns {sorted(unknown)}, required but missing {sorted(missing)}")
        return [isinstance(model.columns[c].type, JSON) for c in columns]

    @contextmanager
    def rows(self, table: str, columns: str):
        """``with loader.rows("t", "a b c") as write: write((1, 2, 3))``; JSON columns take Python values."""
        names = tuple(columns.split())
        json_at = [i for i, is_json in enumerate(self._check(table, names)) if is_json]
        written = 0
        with self.conn.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                write_row = copy.write_row
                if json_at:
                    def write(row):
                        nonlocal written
                        row = list(row)
                        for i in json_at:
                            if row[i] is not None:
                                row[i] = json.dumps(row[i], ensure_ascii=False)
                        write_row(row)
                        written += 1
                else:
                    def write(row):
                        nonlocal written
                        write_row(row)
                        written += 1
                yield write
        self.counts[table] = self.counts.get(table, 0) + written

    def finish(self) -> None:
        """Sequences past the largest id, statistics for the planner, and commit."""
        with self.conn.cursor() as cursor:
            for table in self.tables.values():
                if "id" in table.columns:
                    cursor.execute(
                        f"SELECT setval(seq, coalesce((SELECT max(id) FROM {table.name}), 0) + 1, false) "
                        f"FROM pg_get_serial_sequence('{table.name}', 'id') AS seq WHERE seq IS NOT NULL")
        self.conn.execute("SET session_replication_role = DEFAULT")
        self.conn.commit()
        self.conn.execute("ANALYZE")
        self.conn.commit()
