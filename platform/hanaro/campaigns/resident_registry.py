"""The resident registry (주민등록) as the campaign checks see it: who has died or moved, and when.

:class:`ResidentRegistry` is the interface the checks call; :class:`CsvResidentRegistry` reads a
CSV of status changes (the demo's and the tests' registry, and the shape of a batch feed such as
Seongdong's "관내 주민요약정보 연계"). A live registry link plugs in as another implementation
named in ``RESIDENT_REGISTRY`` ("module:Class", built with the app config).

CSV columns (UTF-8, a header row): ``rrn`` (13 digits, hyphen optional), ``change`` (``deceased``
/ ``moved_out`` / ``moved_in``, or 사망 / 전출 / 전입), ``changed_on`` (YYYY-MM-DD) and
``region_code`` (where the person moved to; empty for deaths). Rows that cannot be read are
skipped and logged by line number, never by content.
"""
from __future__ import annotations

import csv
import enum
import importlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from flask import current_app

log = logging.getLogger(__name__)


class Change(enum.StrEnum):
    DECEASED = "deceased"
    MOVED_OUT = "moved_out"
    MOVED_IN = "moved_in"


_CHANGE_WORDS = {"사망": Change.DECEASED, "전출": Change.MOVED_OUT, "전입": Change.MOVED_IN}
_DIGITS = re.compile(r"^(\d{6})-?(\d{7})$")


@dataclass(frozen=True)
class StatusChange:
    change: Change
    on: date
    region_code: str | None = None


class ResidentRegistry(Protocol):
    def latest_change(self, rrn_digits: str) -> StatusChange | None:
        """The person's most recent registered change (13 digits in), or None if none is known."""


class EmptyRegistry:
    """No registry configured: nothing is known, so nothing is flagged."""

    available = False

    def latest_change(self, rrn_digits: str) -> StatusChange | None:
        return None


class CsvResidentRegistry:
    available = True

    def __init__(self, path: str):
        self.path = path
        self._latest = _load(path)

    def latest_change(self, rrn_digits: str) -> StatusChange | None:
        return self._latest.get(rrn_digits)


_cache: dict[tuple[str, float], dict[str, StatusChange]] = {}


def _load(path: str) -> dict[str, StatusChange]:
    """The latest change per person; re-read only when the file changes."""
    key = (path, os.stat(path).st_mtime)
    if key not in _cache:
        _cache.clear()
        _cache[key] = _parse(path)
    return _cache[key]


def _parse(path: str) -> dict[str, StatusChange]:
    latest: dict[str, StatusChange] = {}
    with open(path, encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            try:
                digits, change = _row(row)
            except (KeyError, ValueError, AttributeError):
                log.warning("resident registry %s: line %d skipped (unreadable)", path, line)
                continue
            known = latest.get(digits)
            if known is None or change.on >= known.on:
                latest[digits] = change
    return latest


def _row(row: dict) -> tuple[str, StatusChange]:
    match = _DIGITS.match(row["rrn"].strip())
    if not match:
        raise ValueError("rrn")
    word = row["change"].strip()
    change = _CHANGE_WORDS.get(word) or Change(word)
    region = (row.get("region_code") or "").strip() or None
    return match.group(1) + match.group(2), StatusChange(change, date.fromisoformat(row["changed_on"].strip()), region)


def resident_registry() -> ResidentRegistry:
    """The registry configured for this app: ``RESIDENT_REGISTRY`` ("module:Class", constructed
    with the app config) or ``RESIDENT_REGISTRY_CSV`` (a file path); else an empty one."""
    custom = current_app.config.get("RESIDENT_REGISTRY")
    if custom:
        module, _, name = custom.partition(":")
        return getattr(importlib.import_module(module), name)(current_app.config)
    path = current_app.config.get("RESIDENT_REGISTRY_CSV")
    if path:
        return CsvResidentRegistry(path)
    return EmptyRegistry()
