"""Screens of pilot workspaces (feedback)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("feedback", __name__, url_prefix="/feedback")
