"""Mail transports: the file transport the embedded default uses, and the test transports the
delivery tests plug in through ``MAIL_TRANSPORT = "tests.test_notification_transports:<Class>"``
(importable by a worker subprocess too, so this module imports nothing from the test harness)."""
from __future__ import annotations

import os
import signal
from email import message_from_bytes, policy

from hanaro.core import mail


class DieAfterWriting(mail.FileTransport):
    """Writes the message like the file transport, then the process dies at once (SIGKILL: no
    cleanup, no commit), as a worker would if the machine went away right after the mail server
    accepted the message."""

    def send(self, message):
        super().send(message)
        os.kill(os.getpid(), signal.SIGKILL)


class AlwaysFails:
    """A mail server that refuses everything."""

    def __init__(self, app):
        self.app = app

    def send(self, message):
        raise ConnectionRefusedError("mail server refused the connection")


def read_eml(path) -> object:
    return message_from_bytes(path.read_bytes(), policy=policy.default)


def test_the_file_transport_writes_one_eml_per_send_and_keeps_the_message_id(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_TRANSPORT", "file")
    monkeypatch.setitem(app.config, "MAIL_FILE_DIR", str(tmp_path / "mail"))
    with app.app_context():
        message = mail.make_message("someone@test.example", "[하나로] 알림", "본문", "<a.b@hanaro.test>")
        mail.send(message)
        mail.send(message)
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2 and not list((tmp_path / "mail").glob("*.tmp"))
    parsed = [read_eml(f) for f in files]
    assert {p["Message-ID"] for p in parsed} == {"<a.b@hanaro.test>"}
    assert parsed[0]["Subject"] == "[하나로] 알림" and parsed[0].get_content().strip() == "본문"


def test_the_transport_is_picked_by_configuration(app, monkeypatch):
    with app.app_context():
        assert isinstance(mail.transport(), mail.MemoryTransport)  # testing default
        monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.test.example")
        assert isinstance(mail.transport(), mail.SmtpTransport)
        monkeypatch.setitem(app.config, "MAIL_TRANSPORT", "tests.test_notification_transports:AlwaysFails")
        assert isinstance(mail.transport(), AlwaysFails)


def test_the_smtp_transport_uses_starttls_and_logs_in(app, monkeypatch):
    calls = []

    class FakeSMTP:
        def __init__(self, host, port, timeout):
            calls.append(("connect", host, port, timeout))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            calls.append(("quit",))

        def starttls(self, context):
            calls.append(("starttls",))

        def login(self, user, password):
            calls.append(("login", user, password))

        def send_message(self, message):
            calls.append(("send", message["To"]))

    monkeypatch.setattr(mail.smtplib, "SMTP", FakeSMTP)
    for key, value in {"MAIL_SERVER": "smtp.test.example", "MAIL_PORT": 587, "MAIL_USERNAME": "hanaro",
                       "MAIL_PASSWORD": "pw", "MAIL_USE_TLS": True}.items():
        monkeypatch.setitem(app.config, key, value)
    with app.app_context():
        mail.send(mail.make_message("someone@test.example", "제목", "본문", "<x@hanaro.test>"))
    assert calls == [("connect", "smtp.test.example", 587, 30), ("starttls",), ("login", "hanaro", "pw"),
                     ("send", "someone@test.example"), ("quit",)]
