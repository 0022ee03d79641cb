"""Indexes a migration adds to tables that are large in production: built ``CONCURRENTLY`` on
PostgreSQL (outside the migration's transaction, so writes go on while they build), plainly on
SQLite. Each index is ``(name, table, columns)``."""
from __future__ import annotations


def _on_postgresql(op) -> bool:
    return op.get_bind().dialect.name == "postgresql"


def create(op, indexes: list[tuple[str, str, list[str]]]) -> None:
    if not _on_postgresql(op):
        for name, table, columns in indexes:
            op.create_index(name, table, columns)
        return
    with op.get_context().autocommit_block():
        for name, table, columns in indexes:
            op.create_index(name, table, columns, postgresql_concurrently=True, if_not_exists=True)


def drop(op, indexes: list[tuple[str, str, list[str]]]) -> None:
    if not _on_postgresql(op):
        for name, table, _ in indexes:
            op.drop_index(name, table_name=table)
        return
    with op.get_context().autocommit_block():
        for name, table, _ in indexes:
            op.drop_index(name, table_name=table, postgresql_concurrently=True, if_exists=True)
