"""Screens of pilot workspaces (pilot_metrics)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("pilot_metrics", __name__, url_prefix="/pilot-metrics")
