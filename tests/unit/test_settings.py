"""Settings read from the environment."""

from __future__ import annotations

from server.settings import Settings


def test_without_configuration_the_server_is_in_production_mode(monkeypatch):
    monkeypatch.delenv("BACKLOG_ENV", raising=False)
    assert Settings(database_url="postgresql://x@y/z").is_development is False
