"""Screens of pilot workspaces (pilots)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pilots", __name__, url_prefix="/pilots")
