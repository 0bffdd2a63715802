"""The secret that signs access tokens: from settings, or (development only) made once on disk."""

from __future__ import annotations

import contextlib
import os
import secrets
from datetime import timedelta
from typing import TYPE_CHECKING

from auth.tokens import MIN_SECRET_BYTES, AccessTokenIssuer

if TYPE_CHECKING:
    from pathlib import Path

    from server.settings import Settings


GENERATE_A_SECRET = "e.g. the output of `openssl rand -base64 48`"


class SigningKeyError(Exception):
    """BACKLOG_JWT_SECRET is missing (in production) or too short; one line that says so."""


def access_token_issuer(settings: Settings) -> AccessTokenIssuer:
    return AccessTokenIssuer(
        secret=_secret(settings),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        lifetime=timedelta(minutes=settings.access_token_minutes),
    )


def _secret(settings: Settings) -> str:
    if settings.jwt_secret:
        size = len(settings.jwt_secret.encode())
        if size < MIN_SECRET_BYTES:
            raise SigningKeyError(
                f"BACKLOG_JWT_SECRET is too short: {size} bytes, it needs {MIN_SECRET_BYTES} "
                f"or more ({GENERATE_A_SECRET})."
            )
        return settings.jwt_secret
    if not settings.is_development:
        raise SigningKeyError(
            "BACKLOG_JWT_SECRET is not set: in production it is required, a random secret of "
            f"{MIN_SECRET_BYTES} bytes or more ({GENERATE_A_SECRET})."
        )
    return _development_secret(settings.data_dir / "jwt-secret")


def _development_secret(path: Path) -> str:
    """Made once beside the embedded database, readable by its owner only. Worker processes
    may start together: the file appears atomically (link), and the loser reads the winner's."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    # Created owner-only, never readable by others for a moment.
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(secrets.token_urlsafe(48))
    with contextlib.suppress(FileExistsError):
        os.link(draft, path)
    draft.unlink()
    return path.read_text().strip()
