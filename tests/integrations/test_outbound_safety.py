"""Where a delivery may not go, and how much of an answer is read: each refusal or cut is a
failed attempt, recorded, and nothing reaches what it must not."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from tests.integrations.conftest import Hooks, new_secret
from tests.support.webhook_receiver import Delivery, Receiver, reply


async def failed_attempt(hooks: Hooks, url: str, **settings: str):
    """The attempt a worker records for one delivery to `url`."""
    webhook = await hooks.webhook(url)
    [message] = await hooks.enqueue(webhook)
    assert await hooks.worker(**settings).send_one()
    [attempt] = await hooks.attempts(message)
    assert not attempt.succeeded
    due = (await hooks.message(message)).available_at
    assert abs((due - attempt.next_retry_at).total_seconds()) < 1
    return attempt


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("10.0.0.1", "10.0.0.1 is a private address"),
        ("192.168.1.1", "192.168.1.1 is a private address"),
        ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
        ("[::1]", "::1 is a loopback address"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1 is an IPv6 form of 127.0.0.1, a loopback address"),
        ("100.100.100.200", "100.100.100.200 is a cloud metadata address"),
    ],
)
async def test_an_address_that_is_not_public_is_refused(hooks: Hooks, host: str, reason: str):
    async with Receiver([new_secret()]) as receiver:
        port = receiver.port if host in ("127.0.0.1", "[::ffff:127.0.0.1]") else 443
        attempt = await failed_attempt(
            hooks, f"https://{host}:{port}/hook", BACKLOG_WEBHOOK_ALLOW_PRIVATE="false"
        )
    assert attempt.error == f"refused: {reason}"
    assert attempt.status_code is None and attempt.next_retry_at is not None
    assert receiver.connections == 0


async def test_a_host_name_resolving_to_loopback_is_refused(hooks: Hooks):
    async with Receiver([new_secret()]) as receiver:
        attempt = await failed_attempt(
            hooks, f"https://localhost:{receiver.port}/", BACKLOG_WEBHOOK_ALLOW_PRIVATE="false"
        )
    assert attempt.error.startswith("refused: ")
    assert attempt.error.endswith("is a loopback address (localhost)")
    assert receiver.connections == 0


async def test_plain_http_is_refused_unless_private_addresses_are_allowed(hooks: Hooks):
    attempt = await failed_attempt(
        hooks, "http://example.com/hook", BACKLOG_WEBHOOK_ALLOW_PRIVATE="false"
    )
    assert attempt.error == "refused: plain http; only https URLs are sent"


async def test_a_metadata_address_is_refused_even_where_private_ones_are_allowed(hooks: Hooks):
    attempt = await failed_attempt(hooks, "http://169.254.169.254/latest/meta-data/")
    assert attempt.error == "refused: 169.254.169.254 is a cloud metadata address"


async def test_a_redirect_is_not_followed(hooks: Hooks):
    async with Receiver([]) as elsewhere:

        async def redirect(delivery: Delivery, writer: asyncio.StreamWriter) -> None:
            await reply(writer, 302, location=elsewhere.url())

        async with Receiver([new_secret()], answer=redirect) as receiver:
            webhook = await hooks.webhook(receiver.url(), secret=receiver.secrets[0])
            [message] = await hooks.enqueue(webhook)
            assert await hooks.worker().send_one()
            await receiver.wait_for(1)

    [attempt] = await hooks.attempts(message)
    assert not attempt.succeeded and attempt.status_code == 302
    assert attempt.error == "HTTP 302: redirects are not followed"
    assert elsewhere.connections == 0


async def test_a_huge_answer_is_read_only_up_to_the_cap(hooks: Hooks):
    async def flood(delivery: Delivery, writer: asyncio.StreamWriter) -> None:
        size = 1 << 30
        writer.write(f"HTTP/1.1 200 OK\r\ncontent-length: {size}\r\n\r\n".encode())
        chunk = "é".encode() * 32768  # 64 KiB of two-byte characters
        for _ in range(size // len(chunk)):
            writer.write(chunk)
            await writer.drain()  # raises once the sender hangs up

    async with Receiver([new_secret()], answer=flood) as receiver:
        webhook = await hooks.webhook(receiver.url(), secret=receiver.secrets[0])
        [message] = await hooks.enqueue(webhook)
        # Were the whole gigabyte read, the attempt would time out instead.
        assert await hooks.worker(BACKLOG_WEBHOOK_TIMEOUT_S="5").send_one()

    [attempt] = await hooks.attempts(message)
    assert attempt.succeeded and attempt.status_code == 200
    assert attempt.response_excerpt == "é" * 512
    assert len(attempt.response_excerpt.encode()) <= 1024


async def test_an_answer_that_never_comes_times_out(hooks: Hooks):
    async def hold(delivery: Delivery, writer: asyncio.StreamWriter) -> None:
        await asyncio.Event().wait()

    async with Receiver([new_secret()], answer=hold) as receiver:
        webhook = await hooks.webhook(receiver.url(), secret=receiver.secrets[0])
        [message] = await hooks.enqueue(webhook)
        assert await hooks.worker(BACKLOG_WEBHOOK_TIMEOUT_S="0.3").send_one()
        assert len(receiver.received) == 1

    [attempt] = await hooks.attempts(message)
    assert not attempt.succeeded and attempt.status_code is None
    assert attempt.error == "timed out after 0.3 s"
    assert attempt.latency_ms >= 300


@pytest.fixture(scope="module")
def localhost_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    certificate, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "1"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"),
            *("-keyout", str(key), "-out", str(certificate)),
        ],
        check=True,
        capture_output=True,
    )
    return certificate, key


async def test_https_goes_to_the_checked_address_under_the_host_name(
    hooks: Hooks, localhost_certificate: tuple[Path, Path]
):
    """The connection is made to the resolved address, yet TLS names (SNI, the certificate
    verified) and the Host header are the URL's host name."""
    certificate, key = localhost_certificate
    serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    serving.load_cert_chain(certificate, key)
    trusting = ssl.create_default_context(cafile=str(certificate))
    secret = new_secret()
    async with Receiver([secret], tls=serving) as receiver:
        webhook = await hooks.webhook(receiver.url(host="localhost"), secret=secret)
        [message] = await hooks.enqueue(webhook)
        assert await hooks.worker(tls=trusting).send_one()
        [delivery] = await receiver.wait_for(1)

    assert (await hooks.message(message)).sent_at is not None
    assert receiver.server_names == ["localhost"]
    assert delivery.headers["host"] == f"localhost:{receiver.port}"


async def test_a_certificate_for_another_name_fails(
    hooks: Hooks, localhost_certificate: tuple[Path, Path]
):
    certificate, key = localhost_certificate
    serving = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    serving.load_cert_chain(certificate, key)
    trusting = ssl.create_default_context(cafile=str(certificate))
    async with Receiver([new_secret()], tls=serving) as receiver:
        webhook = await hooks.webhook(receiver.url(host="127.0.0.1"))
        [message] = await hooks.enqueue(webhook)
        assert await hooks.worker(tls=trusting).send_one()

    [attempt] = await hooks.attempts(message)
    assert not attempt.succeeded
    assert "certificate" in attempt.error.lower() or "hostname" in attempt.error.lower()
    assert receiver.received == []


class Resolver:
    """Answers for names under `.rebind.test` (which no real resolver knows): each lookup the
    next of `answers`; any other name as the system would."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups = 0

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        loop = asyncio.get_running_loop()
        system = loop.getaddrinfo

        async def getaddrinfo(host, port, *args, **kwargs):
            if not str(host).endswith(".rebind.test"):
                return await system(host, port, *args, **kwargs)
            addresses = self.answers[min(self.lookups, len(self.answers) - 1)]
            self.lookups += 1
            return [
                (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))
                for address in addresses
            ]

        monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)


async def test_the_connection_goes_to_the_address_that_was_checked(
    hooks: Hooks, monkeypatch: pytest.MonkeyPatch
):
    """DNS rebinding: the name resolves to an allowed address when checked and to another one
    afterwards; the delivery still goes to the checked one, which the name is never asked
    for again."""
    resolver = Resolver(["127.0.0.1"], ["10.255.255.1"])
    resolver.install(monkeypatch)
    secret = new_secret()
    async with Receiver([secret]) as receiver:
        webhook = await hooks.webhook(f"http://hook.rebind.test:{receiver.port}/", secret=secret)
        [message] = await hooks.enqueue(webhook)
        assert await hooks.worker().send_one()
        [delivery] = await receiver.wait_for(1)
    assert resolver.lookups == 1
    assert delivery.headers["host"] == f"hook.rebind.test:{receiver.port}"
    assert (await hooks.message(message)).sent_at is not None


async def test_each_checked_address_is_tried_in_turn(hooks: Hooks, monkeypatch: pytest.MonkeyPatch):
    """A name with several addresses: one that does not answer is passed over."""
    Resolver(["127.0.0.2", "127.0.0.1"]).install(monkeypatch)
    secret = new_secret()
    async with Receiver([secret]) as receiver:
        webhook = await hooks.webhook(f"http://two.rebind.test:{receiver.port}/", secret=secret)
        [message] = await hooks.enqueue(webhook)
        assert await hooks.worker().send_one()
        await receiver.wait_for(1)
    assert (await hooks.message(message)).sent_at is not None


async def test_one_refused_address_refuses_the_name(hooks: Hooks, monkeypatch: pytest.MonkeyPatch):
    Resolver(["93.184.215.14", "10.0.0.7"]).install(monkeypatch)
    attempt = await failed_attempt(
        hooks, "https://mixed.rebind.test/", BACKLOG_WEBHOOK_ALLOW_PRIVATE="false"
    )
    assert attempt.error == "refused: 10.0.0.7 is a private address (mixed.rebind.test)"


async def test_an_address_that_never_answers_leaves_time_for_the_next(
    hooks: Hooks, monkeypatch: pytest.MonkeyPatch
):
    """The first address takes connections into a full queue and never accepts them (as a
    black-holed route would); each address gets a share of the time, so the second still
    gets the delivery within the attempt's timeout."""
    secret = new_secret()
    async with Receiver([secret]) as receiver:
        blackhole = socket.socket()
        blackhole.bind(("127.0.0.3", receiver.port))
        blackhole.listen(0)
        waiting = []
        try:
            for _ in range(4):  # fill the accept queue: later connections get no answer
                stuck = socket.socket()
                stuck.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    stuck.connect(("127.0.0.3", receiver.port))
                waiting.append(stuck)
            Resolver(["127.0.0.3", "127.0.0.1"]).install(monkeypatch)
            url = f"http://slow.rebind.test:{receiver.port}/"
            webhook = await hooks.webhook(url, secret=secret)
            [message] = await hooks.enqueue(webhook)
            assert await hooks.worker(BACKLOG_WEBHOOK_TIMEOUT_S="4").send_one()
            await receiver.wait_for(1)
        finally:
            for stuck in waiting:
                stuck.close()
            blackhole.close()
    assert (await hooks.message(message)).sent_at is not None
