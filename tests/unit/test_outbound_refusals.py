"""Which addresses an outbound request (a webhook delivery) may connect to
(`server.outbound.refusal`)."""

from __future__ import annotations

import ipaddress

import pytest

from server.outbound import excerpt, refusal


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "127.0.0.1 is a loopback address"),
        ("127.255.0.9", "127.255.0.9 is a loopback address"),
        ("::1", "::1 is a loopback address"),
        ("10.1.2.3", "10.1.2.3 is a private address"),
        ("172.16.0.1", "172.16.0.1 is a private address"),
        ("192.168.1.1", "192.168.1.1 is a private address"),
        ("fc00::1", "fc00::1 is a private address"),
        ("fd12:3456::1", "fd12:3456::1 is a private address"),
        ("169.254.1.1", "169.254.1.1 is a link-local address"),
        ("fe80::1", "fe80::1 is a link-local address"),
        ("100.64.0.1", "100.64.0.1 is a shared (carrier-grade NAT) address"),
        ("224.0.0.1", "224.0.0.1 is a multicast address"),
        ("ff02::1", "ff02::1 is a multicast address"),
        ("240.0.0.1", "240.0.0.1 is a reserved address"),
        ("255.255.255.255", "255.255.255.255 is a reserved address"),
        ("0.0.0.0", "0.0.0.0 is an unspecified address"),
        ("::", ":: is an unspecified address"),
        ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
        ("fd00:ec2::254", "fd00:ec2::254 is a cloud metadata address"),
        ("100.100.100.200", "100.100.100.200 is a cloud metadata address"),
        ("::ffff:10.0.0.1", "::ffff:a00:1 is an IPv6 form of 10.0.0.1, a private address"),
        ("::127.0.0.1", "::7f00:1 is an IPv6 form of 127.0.0.1, a loopback address"),
        ("2002:7f00:1::", "2002:7f00:1:: is an IPv6 form of 127.0.0.1, a loopback address"),
        (
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::a9fe:a9fe is an IPv6 form of 169.254.169.254, a cloud metadata address",
        ),
    ],
)
def test_an_address_that_is_not_public_is_refused(address: str, reason: str):
    assert refusal(ipaddress.ip_address(address), allow_private=False) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_a_public_address_is_allowed(address: str):
    assert refusal(ipaddress.ip_address(address), allow_private=False) is None


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.1", "::ffff:192.168.0.1"])
def test_allowing_private_addresses_allows_them(address: str):
    assert refusal(ipaddress.ip_address(address), allow_private=True) is None


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254"])
def test_a_metadata_address_stays_refused_when_private_ones_are_allowed(address: str):
    assert refusal(ipaddress.ip_address(address), allow_private=True) is not None


def test_an_excerpt_is_at_most_a_kibibyte_of_text_whatever_the_bytes():
    assert excerpt("é".encode() * 2000) == "é" * 512
    assert len(excerpt(b"\xff\x00" * 2000).encode()) <= 1024
    assert "\x00" not in excerpt(b"a\x00b")
