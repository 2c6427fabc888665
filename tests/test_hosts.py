"""WEBHOOKS_ALLOWED_HOSTS (SPEC §6): which targets a webhook may reach, at save and send time."""
from __future__ import annotations

import ipaddress
import socket
import time

import pytest

from webhooks.delivery import hosts
from webhooks.delivery.hosts import (
    SETTING,
    HostNotAllowed,
    HostPolicy,
    allowed_addresses,
    check_url,
    classify,
)
from webhooks.delivery.ports import OutgoingRequest

EXTERNAL = HostPolicy.parse("external")
PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"

# Every way of writing an address of this machine or of a private network that we know of.
LOCAL_TARGETS = [
    ("http://127.0.0.1/hook", "loopback"),
    ("http://127.1.2.3/hook", "loopback"),
    ("http://127.1/hook", "loopback"),
    ("http://localhost/hook", "loopback"),
    ("http://LOCALHOST:8080/hook", "loopback"),
    ("http://LOCALHOST./hook", "loopback"),
    ("http://localhost.:8080/hook", "loopback"),
    ("http://app.localhost/hook", "loopback"),
    ("http://A.B.LocalHost./hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://[::ffff:7f00:1]/hook", "loopback"),
    ("http://0.0.0.0/hook", "loopback"),
    ("http://0/hook", "loopback"),
    ("http://[::]/hook", "loopback"),
    ("http://2130706433/hook", "loopback"),
    ("http://0x7f000001/hook", "loopback"),
    ("http://0177.0.0.1/hook", "loopback"),
    ("http://017700000001/hook", "loopback"),
    ("http://0x7f.0.0.1/hook", "loopback"),
    ("http://[2002:7f00:1::1]/hook", "loopback"),  # 6to4 of 127.0.0.1
    ("http://[64:ff9b::7f00:1]/hook", "loopback"),  # NAT64 of 127.0.0.1
    ("https://127.0.0.1:8443/hook", "loopback"),
    ("http://10.0.0.1/hook", "private"),
    ("http://10.255.255.254/hook", "private"),
    ("http://172.16.0.1/hook", "private"),
    ("http://172.31.255.255/hook", "private"),
    ("http://192.168.1.1/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "private"),
    ("http://[::ffff:10.0.0.1]/hook", "private"),
    ("http://[::ffff:169.254.169.254]/hook", "private"),
    ("http://[fc00::1]/hook", "private"),
    ("http://[fd12::1]/hook", "private"),
    ("http://[fe80::1]/hook", "private"),
    ("http://[fec0::1]/hook", "private"),
    ("http://100.64.0.1/hook", "private"),
    ("http://100.127.255.254/hook", "private"),
]


@pytest.mark.parametrize("url, kind", LOCAL_TARGETS)
def test_external_refuses_this_machine_and_private_networks_at_save_time(url, kind):
    with pytest.raises(HostNotAllowed) as refused:
        check_url(url, EXTERNAL)
    message = str(refused.value)
    assert SETTING in message
    assert f"'{kind}'" in message  # names the token that would allow it


@pytest.mark.parametrize("url", [
    "http://224.0.0.1/hook", "http://255.255.255.255/hook", "http://240.0.0.1/hook",
    "http://[ff02::1]/hook", "http://[::127.0.0.1]/hook",
])
def test_multicast_and_reserved_addresses_are_refused_and_name_the_setting(url):
    with pytest.raises(HostNotAllowed, match=SETTING):
        check_url(url, EXTERNAL)


@pytest.mark.parametrize("url", [
    f"http://{PUBLIC_V4}/hook",
    f"https://{PUBLIC_V4}:8443/a/b?c=d",
    f"http://[{PUBLIC_V6}]/hook",
    f"http://[::ffff:{PUBLIC_V4}]/hook",
    "http://8.8.8.8/",
    "http://100.128.0.1/",  # just past the shared address space
    "http://172.32.0.1/",  # just past 172.16.0.0/12
    "http://[64:ff9b::5db8:d822]/hook",  # NAT64 of a public address (IPv6-only networks)
])
def test_external_allows_public_addresses(url):
    assert check_url(url, EXTERNAL) == url


@pytest.mark.parametrize("setting, url", [
    ("loopback", "http://127.0.0.1:5000/hook"),
    ("loopback", "http://127.1.2.3/hook"),
    ("loopback", "http://localhost:5000/hook"),
    ("loopback", "http://LOCALHOST./hook"),
    ("loopback", "http://app.localhost:5000/hook"),
    ("loopback", "http://[::1]:5000/hook"),
    ("loopback", "http://[::ffff:127.0.0.1]/hook"),
    ("loopback", "http://0177.0.0.1/hook"),
    ("loopback", "http://2130706433/hook"),
    ("external,loopback", "http://127.0.0.1:5000/hook"),
    (" External , LOOPBACK ", "http://127.0.0.1:5000/hook"),
    ("private", "http://10.0.0.1/hook"),
    ("private", "http://192.168.1.1/hook"),
    ("private", "http://169.254.169.254/hook"),
    ("private", "http://[fd12::1]/hook"),
    ("private", "http://100.64.0.1/hook"),
    ("10.0.0.0/8", "http://10.1.2.3/hook"),
    ("10.0.0.0/8", "http://[::ffff:10.1.2.3]/hook"),
    ("192.168.1.0/24", "http://192.168.1.77/hook"),
    ("192.168.1.1", "http://192.168.1.1/hook"),
    ("fd00::/8", "http://[fd12::1]/hook"),
    ("[fd00::]/8", "http://[fd12::1]/hook"),
    ("[::1]", "http://[::1]/hook"),
    ("localhost", "http://localhost:5000/hook"),
    ("localhost.", "http://localhost:5000/hook"),
    ("hooks.corp.internal", "http://hooks.corp.internal/hook"),
    ("*.corp.internal", "http://a.b.corp.internal/hook"),
    ("*", "http://127.0.0.1/hook"),
    ("*", "http://10.0.0.1/hook"),
    ("*", "http://[fe80::1]/hook"),
    ("*", "http://224.0.0.1/hook"),
])
def test_the_right_token_allows_the_target(setting, url):
    assert check_url(url, HostPolicy.parse(setting)) == url


@pytest.mark.parametrize("setting, url", [
    ("private", "http://127.0.0.1/hook"),
    ("private", "http://localhost/hook"),
    ("loopback", "http://10.0.0.1/hook"),
    ("loopback", f"http://{PUBLIC_V4}/hook"),
    ("loopback", "http://169.254.169.254/hook"),
    ("private", f"http://{PUBLIC_V4}/hook"),
    ("10.0.0.0/8", "http://172.16.0.1/hook"),
    ("10.0.0.0/8", "http://127.0.0.1/hook"),
    ("192.168.1.1", "http://192.168.1.2/hook"),
    ("localhost", "http://127.0.0.1/hook"),  # the name is allowed, not its address
    ("external", "http://localhost/hook"),
    ("external,private", "http://LOCALHOST./hook"),
    ("private", "http://x.localhost/hook"),
    ("", "http://127.0.0.1/hook"),  # an empty setting allows nothing
])
def test_a_token_allows_only_what_it_names(setting, url):
    with pytest.raises(HostNotAllowed, match=SETTING):
        check_url(url, HostPolicy.parse(setting))


@pytest.mark.parametrize("url, message", [
    ("", "enter the URL"),
    ("   ", "enter the URL"),
    ("ftp://example.com/hook", "http:// or https://"),
    ("file:///etc/passwd", "http:// or https://"),
    ("gopher://127.0.0.1:25/", "http:// or https://"),
    ("javascript:alert(1)", "http:// or https://"),
    ("example.com/hook", "http:// or https://"),
    ("//example.com/hook", "http:// or https://"),
    ("http:///hook", "no host"),
    ("http://:80/hook", "no host"),
    ("http://user:pass@example.com/hook", "user name or password"),
    ("http://user@example.com/hook", "user name or password"),
    ("http://:@example.com/hook", "user name or password"),
    (f"http://{PUBLIC_V4}\\@127.0.0.1/hook", "user name or password"),
    ("http://example.com:99999/hook", "not valid"),
    ("http://example.com:port/hook", "not valid"),
    ("http://[::1/hook", "not valid"),
    (f"http://{PUBLIC_V4}/" + "a" * 2048, "longer than 2048"),
])
def test_malformed_urls_are_refused_with_a_value_error(url, message):
    with pytest.raises(ValueError, match=message) as refused:
        check_url(url, HostPolicy.parse("*"))
    assert not isinstance(refused.value, HostNotAllowed)


def test_a_url_of_exactly_2048_characters_is_accepted():
    url = f"http://{PUBLIC_V4}/"
    url += "a" * (2048 - len(url))
    assert len(url) == 2048
    assert check_url(url, EXTERNAL) == url


def test_the_saved_url_is_stripped_of_surrounding_spaces():
    assert check_url(f"  http://{PUBLIC_V4}/hook \n", EXTERNAL) == f"http://{PUBLIC_V4}/hook"


def test_a_name_that_does_not_resolve_is_accepted_at_save_time():
    started = time.monotonic()
    url = "https://no-such-host.invalid/hook"
    assert check_url(url, EXTERNAL) == url
    assert time.monotonic() - started < 5


def test_a_name_is_refused_if_any_of_its_addresses_is_refused(monkeypatch):
    monkeypatch.setattr(hosts, "resolve", lambda host, port, timeout=None: [
        ipaddress.ip_address(PUBLIC_V4), ipaddress.ip_address("10.0.0.7")])
    with pytest.raises(HostNotAllowed, match=SETTING) as refused:
        check_url("http://mixed.example/hook", EXTERNAL)
    assert "mixed.example (10.0.0.7)" in str(refused.value)


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("127.255.255.255", "loopback"), ("::1", "loopback"),
    ("0.0.0.0", "loopback"), ("::", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("2002:7f00:1::", "loopback"), ("64:ff9b::7f00:1", "loopback"),
    ("10.0.0.1", "private"), ("172.16.0.1", "private"), ("172.31.255.255", "private"),
    ("192.168.0.1", "private"), ("169.254.169.254", "private"), ("100.64.0.1", "private"),
    ("fc00::1", "private"), ("fd12::1", "private"), ("fe80::1", "private"),
    ("fec0::1", "private"), ("::ffff:192.168.0.1", "private"), ("2002:c0a8:1::", "private"),
    ("93.184.216.34", "external"), ("8.8.8.8", "external"), ("2606:4700::1111", "external"),
    ("::ffff:8.8.8.8", "external"), ("64:ff9b::808:808", "external"),
    ("224.0.0.1", "other"), ("240.0.0.1", "other"), ("ff02::1", "other"),
])
def test_classify(address, kind):
    assert classify(ipaddress.ip_address(address)) == kind


def test_parse_reads_kinds_names_and_networks():
    policy = HostPolicy.parse(" External, loopback,,10.0.0.0/8, 192.168.1.5 ,Hooks.Example.COM., "
                              "[fd00::]/8 ,*.corp.internal")
    assert policy.kinds == {"external", "loopback"}
    assert policy.names == {"hooks.example.com", "*.corp.internal"}
    assert set(policy.networks) == {ipaddress.ip_network("10.0.0.0/8"),
                                    ipaddress.ip_network("192.168.1.5/32"),
                                    ipaddress.ip_network("fd00::/8")}


@pytest.mark.parametrize("host, allowed", [
    ("hooks.example.com", True), ("HOOKS.example.com.", True), ("a.corp.internal", True),
    ("corp.internal", False), ("evilcorp.internal", False), ("hooks.example.com.evil", False),
    ("example.com", False),
])
def test_names_are_matched_exactly_or_by_wildcard_suffix(host, allowed):
    policy = HostPolicy.parse("hooks.example.com,*.corp.internal")
    assert policy.allows_name(host) is allowed


def test_allowed_addresses_returns_the_addresses_that_may_be_connected_to():
    addresses = allowed_addresses(HostPolicy.parse("loopback"), "localhost", 80)
    assert ipaddress.ip_address("127.0.0.1") in addresses
    assert all(classify(a) == "loopback" for a in addresses)


def test_allowed_addresses_drops_refused_addresses_of_a_name(monkeypatch):
    monkeypatch.setattr(hosts, "resolve", lambda host, port, timeout=None: [
        ipaddress.ip_address("10.0.0.7"), ipaddress.ip_address(PUBLIC_V4)])
    assert allowed_addresses(EXTERNAL, "mixed.example", 443) == [ipaddress.ip_address(PUBLIC_V4)]


def test_allowed_addresses_refuses_when_no_address_is_allowed():
    with pytest.raises(HostNotAllowed, match=SETTING):
        allowed_addresses(EXTERNAL, "127.0.0.1", 80)
    with pytest.raises(HostNotAllowed, match=SETTING):
        allowed_addresses(EXTERNAL, "localhost", 80)


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "app.localhost", "A.LocalHost."])
def test_localhost_names_are_loopback_whatever_a_resolver_answers(host, monkeypatch):
    monkeypatch.setattr(hosts, "resolve", lambda host, port, timeout=None: [
        ipaddress.ip_address(PUBLIC_V4)])  # a resolver that lies, or a DNS server that does
    with pytest.raises(HostNotAllowed, match="loopback name.*add 'loopback'"):
        allowed_addresses(EXTERNAL, host, 80)
    with pytest.raises(HostNotAllowed, match="add 'loopback'"):
        check_url(f"http://{host}/hook", EXTERNAL)
    assert allowed_addresses(HostPolicy.parse("loopback"), host, 80) == [
        ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]


def test_allowed_addresses_trusts_a_name_listed_by_name():
    assert ipaddress.ip_address("127.0.0.1") in allowed_addresses(
        HostPolicy.parse("localhost"), "localhost", 80)


def test_allowed_addresses_raises_oserror_for_a_name_that_does_not_resolve():
    with pytest.raises(OSError):
        allowed_addresses(EXTERNAL, "no-such-host.invalid", 80)


# --- send time: the address actually connected to is checked again --------------------------

def _fake_dns(monkeypatch, answers: dict[str, list]):
    """Make getaddrinfo answer `answers[name]` (a list, or a callable giving one) for names."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            found = answers[host]
            found = found() if callable(found) else found
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM,
                     socket.IPPROTO_TCP, "", (a, port) if ":" not in a else (a, port, 0, 0))
                    for a in found]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(hosts.socket, "getaddrinfo", getaddrinfo)


def _request(url: str) -> OutgoingRequest:
    return OutgoingRequest("k", url, b"{}", {"Content-Type": "application/json"}, 2.0)


def test_dns_rebinding_to_loopback_is_refused_at_send_time(monkeypatch, receiver, make_sender):
    answers = iter([[PUBLIC_V4]])
    _fake_dns(monkeypatch, {"rebind.example": lambda: next(answers, ["127.0.0.1"])})
    url = f"http://rebind.example:{receiver.port}/hook"
    assert check_url(url, EXTERNAL) == url  # saved: the name looked public then

    sender = make_sender(EXTERNAL, concurrency=2)
    try:
        outcome = sender.send(_request(url))
    finally:
        sender.close()
    assert not outcome.ok
    assert outcome.http_code is None
    assert SETTING in outcome.error
    assert "rebind.example (127.0.0.1)" in outcome.error
    time.sleep(0.2)
    assert receiver.requests == [] and receiver.connections == 0


@pytest.mark.parametrize("setting", ["external", "private", "10.0.0.0/8", "otherhost"])
def test_an_address_literal_refused_by_the_setting_is_never_connected_to(setting, receiver,
                                                                         make_sender):
    sender = make_sender(HostPolicy.parse(setting), concurrency=2)
    try:
        outcome = sender.send(_request(receiver.url()))
    finally:
        sender.close()
    assert not outcome.ok and outcome.http_code is None
    assert SETTING in outcome.error
    time.sleep(0.2)
    assert receiver.connections == 0


def test_only_the_allowed_addresses_of_a_name_are_connected_to(monkeypatch, receiver,
                                                               make_sender):
    _fake_dns(monkeypatch, {"two.example": ["10.0.0.7", "127.0.0.1"]})
    sender = make_sender(HostPolicy.parse("loopback"), concurrency=2)
    try:
        outcome = sender.send(_request(f"http://two.example:{receiver.port}/hook"))
    finally:
        sender.close()
    assert outcome.ok, outcome.error
    assert receiver.wait_for(1)[0].headers["Host"] == f"two.example:{receiver.port}"


SEND_TIME_FORMS = ["http://127.0.0.1:{port}/hook", "http://localhost:{port}/hook",
                   "http://LOCALHOST.:{port}/hook", "http://app.localhost:{port}/hook",
                   "http://2130706433:{port}/hook", "http://0177.0.0.1:{port}/hook",
                   "http://0x7f.0.0.1:{port}/hook", "http://127.1:{port}/hook",
                   "http://[::ffff:127.0.0.1]:{port}/hook", "http://[::1]:{port}/hook",
                   "http://0.0.0.0:{port}/hook"]


@pytest.mark.parametrize("form", SEND_TIME_FORMS)
def test_every_spelling_of_this_machine_is_refused_at_send_time(form, receiver, make_sender):
    sender = make_sender(EXTERNAL, concurrency=2)
    try:
        outcome = sender.send(_request(form.format(port=receiver.port)))
    finally:
        sender.close()
    assert not outcome.ok and outcome.http_code is None
    assert SETTING in outcome.error
    assert receiver.connections == 0


@pytest.mark.parametrize("form", SEND_TIME_FORMS[:8])
def test_spellings_of_127_0_0_1_reach_it_when_loopback_is_allowed(form, receiver, make_sender):
    sender = make_sender(HostPolicy.parse("loopback"), concurrency=2)
    try:
        outcome = sender.send(_request(form.format(port=receiver.port)))
    finally:
        sender.close()
    assert outcome.ok, outcome.error
