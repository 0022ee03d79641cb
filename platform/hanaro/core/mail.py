"""Outgoing e-mail: one message builder and three transports.

* ``smtp``: :mod:`smtplib` to ``MAIL_SERVER``:``MAIL_PORT`` (STARTTLS with ``MAIL_USE_TLS``, implicit
  TLS with ``MAIL_USE_SSL``, login with ``MAIL_USERNAME``/``MAIL_PASSWORD`` when set). Production.
* ``file``: each message is written as an ``.eml`` file under ``MAIL_FILE_DIR`` (``var/mail/``),
  one file per send, so a resend shows up as a second file with the same Message-ID. The embedded
  default (no ``MAIL_SERVER``).
* ``memory``: messages are kept in a list on the app (:func:`outbox`). The default in tests.

``MAIL_TRANSPORT`` picks one by name (or ``package.module:Class`` for a custom transport, built
with the app); empty means: ``smtp`` when ``MAIL_SERVER`` is set, ``memory`` when testing, else
``file``. A transport raises on failure; callers decide about retries.
"""
from __future__ import annotations

import email.policy
import importlib
import re
import smtplib
import ssl
import threading
import uuid
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, current_app


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, keeping the class it makes for each header name: the stock
    one builds a new class every time a header is set, a third of the cost of a message."""

    def __init__(self):
        super().__init__()
        self._made = {}

    def __getitem__(self, name):
        made = self._made.get(name.lower())
        if made is None:
            made = self._made[name.lower()] = super().__getitem__(name)
        return made


POLICY = email.policy.default.clone(header_factory=_HeaderClasses())


def make_message(to: str, subject: str, text: str, message_id: str, sender: str | None = None) -> EmailMessage:
    """A plain-text UTF-8 message; ``message_id`` (``<...@...>``) is kept as given, so a resend
    of the same delivery carries the same Message-ID."""
    message = EmailMessage(policy=POLICY)
    message["From"] = sender or current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to us
    message.set_content(text, charset="utf-8")
    return message


def message_domain() -> str:
    """The domain for Message-IDs: MAIL_FROM's, else the site's."""
    sender = current_app.config.get("MAIL_FROM") or ""
    if "@" in sender:
        return sender.rsplit("@", 1)[1].strip(">").strip() or "hanaro.invalid"
    return urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "hanaro.invalid"


class SmtpTransport:
    def __init__(self, app: Flask):
        config = app.config
        self.server = config["MAIL_SERVER"]
        self.port = config["MAIL_PORT"]
        self.username = config.get("MAIL_USERNAME")
        self.password = config.get("MAIL_PASSWORD")
        self.use_tls = config.get("MAIL_USE_TLS", True)
        self.use_ssl = config.get("MAIL_USE_SSL", False)
        self.timeout = config.get("MAIL_TIMEOUT", 30)

    def send(self, message: EmailMessage) -> None:
        if not self.server:
            raise RuntimeError("MAIL_SERVER is not set")
        if self.use_ssl:
            smtp = smtplib.SMTP_SSL(self.server, self.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(self.server, self.port, timeout=self.timeout)
        with smtp:
            if self.use_tls and not self.use_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class FileTransport:
    def __init__(self, app: Flask):
        self.directory = Path(app.config["MAIL_FILE_DIR"])

    def send(self, message: EmailMessage) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        stem = _UNSAFE.sub("_", str(message["Message-ID"]).strip("<>"))[:120]
        path = self.directory / f"{stem}.{uuid.uuid4().hex[:8]}.eml"
        partial = path.with_suffix(".tmp")
        partial.write_bytes(bytes(message))
        partial.replace(path)  # readers never see half a message
        return path


class MemoryTransport:
    def __init__(self, app: Flask):
        self.messages = outbox(app)

    def send(self, message: EmailMessage) -> None:
        with _lock:
            self.messages.append(message)


_lock = threading.Lock()
TRANSPORTS = {"smtp": SmtpTransport, "file": FileTransport, "memory": MemoryTransport}


def outbox(app: Flask | None = None) -> list[EmailMessage]:
    """The messages the memory transport has "sent" (tests clear it with ``.clear()``)."""
    app = app or current_app._get_current_object()
    return app.extensions.setdefault("hanaro_mail_outbox", [])


def transport(app: Flask | None = None):
    app = app or current_app._get_current_object()
    name = app.config.get("MAIL_TRANSPORT") or (
        "smtp" if app.config.get("MAIL_SERVER") else "memory" if app.testing else "file"
    )
    if ":" in name:
        module, _, attribute = name.partition(":")
        return getattr(importlib.import_module(module), attribute)(app)
    return TRANSPORTS[name](app)


def send(message: EmailMessage) -> None:
    transport().send(message)
