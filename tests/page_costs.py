"""What a page costs PostgreSQL: every SELECT a request runs, run again under
``EXPLAIN (ANALYZE, BUFFERS)`` as the same tenant and user, its buffers summed.

Buffers (pages of 8 kB touched, from cache or disk) do not depend on the machine's speed or load,
so two data sets can be compared honestly in a test: a page whose queries read other tenants' rows
touches more buffers when there are more of them.
"""
from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import event


@dataclass(frozen=True)
class Statement:
    sql: str
    parameters: object
    tenant_id: str
    user_id: str


@contextmanager
def captured_selects(engine):
    """Yield a list that fills with the SELECTs run on ``engine``, each with the tenancy context
    (``hanaro.tenant_id``/``hanaro.user_id``) its transaction had set."""
    statements: list[Statement] = []
    settings: dict[int, tuple[str, str]] = {}

    def before(conn, cursor, sql, parameters, context, executemany):
        key = id(conn.connection.dbapi_connection)
        if "set_config('hanaro.tenant_id'" in sql:
            settings[key] = (parameters["tenant_id"], parameters["user_id"])
        elif sql.lstrip().upper().startswith(("SELECT", "WITH")) and not executemany:
            tenant_id, user_id = settings.get(key, ("", ""))
            statements.append(Statement(sql, parameters, tenant_id, user_id))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def buffers(engine, statements: list[Statement]) -> int:
    """Shared buffers the statements touch when run again, each under its own context (planning
    excluded: it reads the catalogue, not the tenant's data)."""
    total = 0
    with engine.connect() as connection:
        for statement in statements:
            transaction = connection.begin()
            connection.exec_driver_sql(
                "select set_config('hanaro.tenant_id', %(t)s, true), set_config('hanaro.user_id', %(u)s, true)",
                {"t": statement.tenant_id, "u": statement.user_id})
            plan = connection.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement.sql, statement.parameters).scalar()
            transaction.rollback()
            node = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
            total += node.get("Shared Hit Blocks", 0) + node.get("Shared Read Blocks", 0)
    return total


def page_buffers(app, client, path: str) -> tuple[int, int]:
    """(buffers, statements) of one GET of ``path`` by ``client`` (already signed in)."""
    from hanaro.core.db import db

    with app.app_context():
        engine = db.engine
    with captured_selects(engine) as statements:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return buffers(engine, statements), len(statements)
