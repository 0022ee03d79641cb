"""The bare-Flask ceilings that scripts/bench --scale compares Hanaro's pages with: what this machine
serves when a page does nothing but render.

  /rows      a 50-row Jinja table inside a layout (header, navigation, footer), rows built in Python
  /orm-rows  the same page with 50 rows of `regions` read through Flask-SQLAlchemy (CEILING_DATABASE_URL)

Both answer with an X-Rows header so the bench can tell when the database had fewer than 50 rows.
Served by gunicorn: `gunicorn --pythonpath scripts 'bench_ceiling:create_app()'`."""
from __future__ import annotations

import os

from flask import Flask, render_template
from flask_sqlalchemy import SQLAlchemy
from jinja2 import DictLoader
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ROWS = 50

LAYOUT = """<!doctype html>
<html lang="ko"><head><meta charset="utf-8"><title>{% block title %}{% endblock %} · 하나로</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><header class="site-header"><a href="/">하나로</a>
<nav><ul>{% for label in menu %}<li><a href="/{{ loop.index }}">{{ label }}</a></li>{% endfor %}</ul></nav></header>
<main id="main">{% block content %}{% endblock %}</main>
<footer><p>하나로 · 공공–민간 복지 협업 플랫폼</p></footer></body></html>
"""

TABLE = """{% extends "layout.html" %}
{% block title %}지역 목록{% endblock %}
{% block content %}<h1>지역 목록</h1>
<table><thead><tr><th>코드</th><th>이름</th><th>단계</th><th>상위</th></tr></thead><tbody>
{% for row in rows %}<tr><td>{{ row.code }}</td><td><a href="/regions/{{ row.code }}">{{ row.name }}</a></td>
<td>{{ row.level }}</td><td>{{ row.parent_code or "—" }}</td></tr>
{% endfor %}</tbody></table>{% endblock %}
"""

MENU = ("홈", "대상자", "사례", "의뢰", "자원", "기관 찾기", "알림", "회의", "캠페인", "지도감독")


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Region(db.Model):
    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(20))
    parent_code: Mapped[str | None] = mapped_column(String(10))


PYTHON_ROWS = [Region(code=f"{5011000000 + i}", name=f"제주시 {i}동", level="dong", parent_code="5011000000")
               for i in range(ROWS)]


def create_app() -> Flask:
    app = Flask(__name__)
    app.jinja_loader = DictLoader({"layout.html": LAYOUT, "table.html": TABLE})
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("CEILING_DATABASE_URL", "sqlite://")
    db.init_app(app)

    @app.get("/healthz")
    def healthz():
        return "ok"

    @app.get("/rows")
    def rows():
        return _page(PYTHON_ROWS)

    @app.get("/orm-rows")
    def orm_rows():
        return _page(db.session.scalars(select(Region).order_by(Region.code).limit(ROWS)).all())

    return app


def _page(rows: list[Region]):
    return render_template("table.html", rows=rows, menu=MENU), 200, {"X-Rows": str(len(rows))}
