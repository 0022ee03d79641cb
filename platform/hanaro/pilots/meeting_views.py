"""Screens of pilot workspaces (care_meetings)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("care_meetings", __name__, url_prefix="/care-meetings")
