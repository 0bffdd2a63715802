"""BACKLOG_SMTP_URL: its forms, and how the email sender connects for each."""

from __future__ import annotations

import pytest

from server.mail import SmtpServer
from server.settings import SettingsError, read_settings


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example", SmtpServer("mail.example", 25, implicit_tls=False)),
        (
            "smtp://me%40example.com:p%3Ass@mail.example:587",
            SmtpServer("mail.example", 587, False, "me@example.com", "p:ss"),
        ),
        ("smtps://u:p@mail.example", SmtpServer("mail.example", 465, True, "u", "p")),
    ],
)
def test_an_smtp_url_names_the_server_its_port_and_credentials(url, expected):
    assert SmtpServer.from_url(url) == expected


def test_tls_is_required_where_credentials_are_sent():
    assert SmtpServer.from_url("smtp://relay:25").start_tls is None  # STARTTLS if offered
    assert SmtpServer.from_url("smtp://u:p@relay:587").start_tls is True
    assert SmtpServer.from_url("smtps://u:p@relay").start_tls is False  # TLS from the start


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "smtp://host:port"])
def test_a_bad_smtp_url_is_refused_without_echoing_it(monkeypatch, url):
    monkeypatch.setenv("BACKLOG_SMTP_URL", url.replace("//", "//user:secret@", 1))
    with pytest.raises(SettingsError) as refused:
        read_settings()
    assert str(refused.value).startswith("BACKLOG_SMTP_URL: ")
    assert "secret" not in str(refused.value)
