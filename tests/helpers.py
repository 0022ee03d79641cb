"""Small helpers shared by tests."""
from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import event

from hanaro.core.db import db


@contextmanager
def count_queries():
    """Count the SQL statements run inside the block: ``with count_queries() as n: ...; n()``."""
    statements = []
    engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().lower().startswith(("savepoint", "release", "rollback", "select set_config")):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield lambda: len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", record)


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client, email: str, password: str = "correct horse battery"):
    return client.post("/login", data={"email": email, "password": password})
