"""The development mail sink: with the embedded database and no `BACKLOG_SMTP_URL`,
`backlog serve` runs this SMTP server on 127.0.0.1 and points the outbox's email sender at it,
so mail never leaves the machine. Each message it receives becomes one `.eml` file in
`<BACKLOG_DATA_DIR>/mail/`, named by the time it arrived and a sequence number (names sort in
arrival order); `backlog mail` lists and shows them.
"""

from __future__ import annotations

import itertools
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller

if TYPE_CHECKING:
    from pathlib import Path

HOST = "127.0.0.1"
SUFFIX = ".eml"


class _Folder:
    """aiosmtpd's handler: writes each message it accepts into `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            number = next(self._sequence)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        path = self.folder / f"{stamp}-{number:04d}{SUFFIX}"
        partial = path.with_suffix(".part")
        # Written whole, then renamed: a reader never lists half a message.
        partial.write_bytes(envelope.original_content or envelope.content)
        partial.rename(path)
        return "250 Message accepted for delivery"


class MailSink:
    """An SMTP server in a thread of its own; `url` is what BACKLOG_SMTP_URL should say."""

    def __init__(self, folder: Path, *, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or _free_port()
        self._controller = Controller(_Folder(folder), hostname=HOST, port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class SunkMail:
    """One message the sink received, with what `backlog mail` lists of it (read from its
    headers alone); `message` and `text` read the whole file."""

    path: Path
    received_at: datetime
    """The file's modification time (UTC): it is written once, as the message arrives."""
    to: str
    subject: str

    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.path.read_bytes(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    def text(self) -> str:
        """The plain-text part (the whole body when there is no such part)."""
        message = self.message()
        part = message.get_body(preferencelist=("plain",)) or message.get_body()
        if part is None:
            return ""
        content = part.get_content()
        return content if isinstance(content, str) else content.decode(errors="replace")


def sunk_mail(folder: Path) -> list[SunkMail]:
    """What the sink received, newest first."""
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob(f"*{SUFFIX}"), reverse=True):
        with path.open("rb") as file:
            parsed = message_from_bytes(_head(file.read()), policy=policy.default)
        found.append(
            SunkMail(
                path,
                datetime.fromtimestamp(path.stat().st_mtime, UTC),
                str(parsed.get("To", "")),
                str(parsed.get("Subject", "")),
            )
        )
    return found


def _head(raw: bytes) -> bytes:
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return raw if end < 0 else raw[: end + 2]
