"""Requests to addresses users chose (webhook URLs), made safe for the network Backlog runs in.

A URL's host is resolved when the request is made, and the request is refused if ANY address it
resolves to is not a public one (loopback, private, link-local, shared/CGNAT, multicast,
reserved, unspecified, an IPv6 form embedding one of those, a cloud metadata address): a user
must not reach, through Backlog, what only Backlog's network can reach (server-side request
forgery). The connection then goes to the very address that was checked, with the URL's host name
kept in the `Host` header and, for https, as the TLS server name the certificate is verified
against: a DNS answer that changes between the check and the connection (DNS rebinding) cannot
redirect it. Redirects are never followed (one could lead anywhere); no proxy from the
environment is used (it would connect by name).

`allow_private` (BACKLOG_WEBHOOK_ALLOW_PRIVATE, for development and tests) permits private and
loopback addresses and plain http; cloud metadata addresses stay refused even then.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import Mapping

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_BODY_BYTES = 64 * 1024
"""The most of a response body that is read; the rest is never received."""
EXCERPT_BYTES = 1024

METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598, carrier-grade NAT
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # deprecated, RFC 4291 2.5.5.1


class Refused(Exception):
    """A request that must not be made; the message says why, in the attempt's record."""


class Unreachable(Exception):
    """No connection could be made to one checked address (another may answer)."""


class Failed(Exception):
    """A request made that got no response: the message says what happened."""


@dataclass(frozen=True, slots=True)
class Response:
    status_code: int
    excerpt: str
    """At most `EXCERPT_BYTES` of the body (UTF-8), decoded leniently."""


def refusal(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why `address` must not be connected to; None when it may be."""
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        kind = _refused_kind(embedded, allow_private=allow_private)
        return None if kind is None else f"{address} is an IPv6 form of {embedded}, {kind}"
    kind = _refused_kind(address, allow_private=allow_private)
    return None if kind is None else f"{address} is {kind}"


def _refused_kind(address: IPAddress, *, allow_private: bool) -> str | None:
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if allow_private:
        return None
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.version == 4 and address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address.is_reserved:
        return "a reserved address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "a reserved address"
    return None


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, compatible, 6to4, Teredo, NAT64)."""
    if address.version == 4:
        return None
    assert isinstance(address, ipaddress.IPv6Address)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


async def checked_addresses(url: httpx.URL, *, allow_private: bool) -> list[IPAddress]:
    """The addresses to connect to for `url`, in the resolver's order: every address its host
    resolves to, each checked (one refused refuses them all)."""
    if url.scheme != "https" and not (url.scheme == "http" and allow_private):
        plain = "plain http" if url.scheme == "http" else "not an https URL"
        raise Refused(f"refused: {plain}; only https URLs are sent")
    # The name as the request carries it (IDNA 2008, as httpx encodes it): Python's own IDNA
    # 2003 encoding of `url.host` would resolve some names to another domain.
    host = url.raw_host.decode("ascii")
    if not host:
        raise Refused("refused: the URL has no host")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError) as error:
        raise Failed(f"could not resolve {host}: {error}") from None
    addresses = [ipaddress.ip_address(str(entry[4][0]).split("%", 1)[0]) for entry in found]
    if not addresses:
        raise Failed(f"could not resolve {host}: no address")
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason is not None:
            shown = "" if _is_address(host) else f" ({host})"
            raise Refused(f"refused: {reason}{shown}")
    return list(dict.fromkeys(addresses))


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def tls_context() -> ssl.SSLContext:
    """The certificates of the system's trust store (certifi's, through httpx)."""
    return httpx.create_ssl_context()


async def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout_s: float,
    allow_private: bool,
    tls: ssl.SSLContext,
) -> Response:
    """POST `body` to `url` as the rules above allow, within `timeout_s` in all (resolution,
    connection, response and the body's first `MAX_BODY_BYTES`). Raises `Refused` or `Failed`."""
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL as error:
        raise Refused(f"refused: not a URL ({error})") from None
    try:
        async with asyncio.timeout(timeout_s):
            addresses = await checked_addresses(target, allow_private=allow_private)
            # With several addresses, each connection attempt gets a share of the time, so
            # that one that never answers (a black-holed IPv6 route) leaves time for the next.
            connect_s = timeout_s / len(addresses) if len(addresses) > 1 else timeout_s
            limits = httpx.Timeout(timeout_s, connect=connect_s)
            for address in addresses[:-1]:
                with contextlib.suppress(Unreachable):
                    return await _post_to(target, address, body, headers, limits, tls)
            try:
                return await _post_to(target, addresses[-1], body, headers, limits, tls)
            except Unreachable as error:
                raise Failed(str(error)) from None
    except TimeoutError:
        raise Failed(f"timed out after {timeout_s:g} s") from None


async def _post_to(
    target: httpx.URL,
    address: IPAddress,
    body: bytes,
    headers: Mapping[str, str],
    limits: httpx.Timeout,
    tls: ssl.SSLContext,
) -> Response:
    pinned = target.copy_with(host=str(address))
    request_headers = {
        **headers,
        "host": target.netloc.decode("ascii"),
        # The raw bytes are read: a compressed body could inflate past any cap.
        "accept-encoding": "identity",
    }
    # A client per request: connections are never pooled, since one made for a host name on an
    # address must not carry a request for another name on that address.
    async with httpx.AsyncClient(
        verify=tls,
        trust_env=False,
        follow_redirects=False,
        timeout=limits,
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as client:
        try:
            async with client.stream(
                "POST",
                pinned,
                content=body,
                headers=request_headers,
                extensions={"sni_hostname": target.raw_host.decode("ascii")},
            ) as response:
                received = bytearray()
                async for chunk in response.aiter_raw():
                    received += chunk[: MAX_BODY_BYTES - len(received)]
                    if len(received) >= MAX_BODY_BYTES:
                        break
        except httpx.ConnectTimeout:
            raise Unreachable(f"no connection within {limits.connect:g} s") from None
        except httpx.TimeoutException:
            raise Failed(f"timed out after {limits.read:g} s") from None
        except httpx.ConnectError as error:
            raise Unreachable(f"connection failed: {error or type(error).__name__}") from None
        except httpx.HTTPError as error:
            raise Failed(f"connection failed: {error or type(error).__name__}") from None
    return Response(response.status_code, excerpt(bytes(received)))


def excerpt(body: bytes) -> str:
    """The start of `body`: at most `EXCERPT_BYTES` once encoded in UTF-8, without NUL (which
    PostgreSQL's text does not hold)."""
    text = body[:EXCERPT_BYTES].decode("utf-8", "replace").replace("\x00", "\ufffd")
    return text.encode()[:EXCERPT_BYTES].decode("utf-8", "ignore")
