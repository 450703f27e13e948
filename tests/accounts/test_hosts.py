"""The user-typed host check: private and local addresses need the admin."""

from __future__ import annotations

import pytest
from django.test import override_settings

from accounts import hosts


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "localhost",
        "10.1.2.3",
        "192.168.0.10",
        "172.16.5.5",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104
        "::1",
        "[::1]",
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
        "240.0.0.1",
    ],
)
def test_it_refuses_local_and_private_addresses(host: str, settings):
    settings.MAIL_ALLOWED_PRIVATE_HOSTS = []
    with pytest.raises(hosts.HostNotAllowed) as caught:
        hosts.check_host(host)
    assert "private or local address" in caught.value.message


def test_it_accepts_a_public_address():
    with override_settings(MAIL_ALLOWED_PRIVATE_HOSTS=[]):
        assert [str(a) for a in hosts.check_host("93.184.216.34")] == ["93.184.216.34"]


@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.0/8", "localhost"])
def test_an_admin_can_allow_a_private_host(entry: str):
    with override_settings(MAIL_ALLOWED_PRIVATE_HOSTS=[entry]):
        assert hosts.check_host("127.0.0.1" if entry != "localhost" else "localhost")


def test_allowing_one_private_host_does_not_allow_another(settings):
    settings.MAIL_ALLOWED_PRIVATE_HOSTS = ["127.0.0.1"]
    with pytest.raises(hosts.HostNotAllowed):
        hosts.check_host("10.0.0.1")


def test_an_unknown_host_says_the_name_does_not_resolve():
    with pytest.raises(hosts.HostNotFound) as caught:
        hosts.check_host("no-such-host.invalid")
    assert "Could not resolve no-such-host.invalid" in caught.value.message


def test_plaintext_needs_the_admin():
    with override_settings(MAIL_ALLOWED_PLAINTEXT_HOSTS=["mail.example.org"]):
        assert hosts.plaintext_allowed("Mail.Example.org")
        assert not hosts.plaintext_allowed("other.example.org")
