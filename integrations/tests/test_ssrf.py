"""The request-forgery guard: each class of address refused, IPv6 too, and the checked address is the one used."""

import ipaddress
import socket

import pytest

from integrations import ssrf

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("fd12:3456::1", "private"),
    ("169.254.169.254", "metadata"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fd00:ec2::254", "metadata"),
    ("100.100.100.200", "metadata"),
    ("224.0.0.1", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),  # noqa: S104 (a test value)
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("100.64.0.1", "public"),  # shared address space (carrier-grade NAT): not public
    ("192.0.2.1", "private"),  # documentation range
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_addresses_that_are_not_public_are_refused(address, kind):
    reason = ssrf.refusal(ipaddress.ip_address(address))

    assert reason is not None
    assert kind in reason or kind == "public"


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address):
    assert ssrf.refusal(ipaddress.ip_address(address)) is None


@pytest.fixture
def strict(settings):
    settings.CHAT_WEBHOOK_ALLOW_PRIVATE = False
    settings.CHAT_WEBHOOK_ALLOW_HTTP = False
    return settings


def _resolving_to(monkeypatch, *addresses):
    def fake(host, port, type=0):
        family = {4: socket.AF_INET, 6: socket.AF_INET6}
        return [(family[ipaddress.ip_address(a).version], socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    monkeypatch.setattr(ssrf.socket, "getaddrinfo", fake)


def test_a_host_resolving_to_a_private_address_is_refused(strict, monkeypatch):
    _resolving_to(monkeypatch, "10.0.0.5")

    with pytest.raises(ssrf.RefusedTarget, match="private"):
        ssrf.resolve("https://hooks.example.com/x")


def test_one_bad_address_among_good_ones_refuses_the_host(strict, monkeypatch):
    _resolving_to(monkeypatch, "93.184.215.14", "::1")

    with pytest.raises(ssrf.RefusedTarget, match="loopback"):
        ssrf.resolve("https://hooks.example.com/x")


def test_the_checked_address_is_the_one_connected_to(strict, monkeypatch):
    _resolving_to(monkeypatch, "93.184.215.14")

    target = ssrf.resolve("https://hooks.example.com:8443/in?a=1")

    assert (target.host, target.address, target.port, target.path) == (
        "hooks.example.com",
        "93.184.215.14",
        8443,
        "/in?a=1",
    )


def test_http_is_refused_unless_the_operator_allows_it(strict, monkeypatch):
    _resolving_to(monkeypatch, "93.184.215.14")
    with pytest.raises(ssrf.RefusedTarget, match="https"):
        ssrf.resolve("http://hooks.example.com/")

    strict.CHAT_WEBHOOK_ALLOW_HTTP = True

    assert ssrf.resolve("http://hooks.example.com/").port == 80


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "https:///nohost", "https://user:pw@example.com/", "https://[::1/"]
)
def test_malformed_urls_are_refused(strict, url):
    with pytest.raises(ssrf.RefusedTarget):
        ssrf.check_url(url)


def test_a_literal_private_address_is_refused_before_any_lookup(strict):
    with pytest.raises(ssrf.RefusedTarget, match="cloud metadata"):
        ssrf.check_literal("169.254.169.254")
    ssrf.check_literal("example.com")


def test_private_targets_are_allowed_when_the_setting_says_so(settings, monkeypatch):
    settings.CHAT_WEBHOOK_ALLOW_PRIVATE = True
    _resolving_to(monkeypatch, "127.0.0.1")

    assert ssrf.resolve("https://localhost/").address == "127.0.0.1"
