"""Which targets a webhook may reach: WEBHOOKS_ALLOWED_HOSTS (SPEC §6).

Tokens: `external` (public addresses), `loopback`, `private`, `*`, host names and CIDRs.
A URL is checked when it is saved and again when it is sent, on the address actually
connected to, so a name that changes its answer (DNS rebinding) cannot slip through.
"""
from __future__ import annotations

import ipaddress
import socket
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from urllib.parse import urlsplit

SETTING = "WEBHOOKS_ALLOWED_HOSTS"
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: private in practice
_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 target
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class HostNotAllowed(ValueError):
    """The target is not allowed; the message names the setting that would allow it."""


def embedded_ipv4(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), else the address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def classify(address: IPAddress) -> str:
    """`loopback`, `private`, `external` or `other` (multicast, reserved)."""
    address = embedded_ipv4(address)
    if address.is_loopback or address.is_unspecified:
        return "loopback"
    if address.is_multicast or address.is_reserved:
        return "other"
    if (address.is_private or address.is_link_local or address in _SHARED
            or getattr(address, "is_site_local", False)):
        return "private"
    if address.is_global:
        return "external"
    return "other"


@dataclass(frozen=True)
class HostPolicy:
    """A parsed WEBHOOKS_ALLOWED_HOSTS value."""

    kinds: frozenset[str]
    names: frozenset[str]
    networks: tuple

    @classmethod
    def parse(cls, raw: str) -> HostPolicy:
        kinds, names, networks = set(), set(), []
        for token in (t.strip().lower() for t in raw.split(",")):
            if not token:
                continue
            if token in ("external", "loopback", "private", "*"):
                kinds.add(token)
                continue
            try:
                networks.append(ipaddress.ip_network(token.replace("[", "").replace("]", ""),
                                                     strict=False))
            except ValueError:
                names.add(token.rstrip("."))
        return cls(frozenset(kinds), frozenset(names), tuple(networks))

    def allows_name(self, host: str) -> bool:
        """Whether a host name is allowed by name, whatever it resolves to."""
        if "*" in self.kinds:
            return True
        host = host.lower().rstrip(".")
        return host in self.names or any(
            n.startswith("*.") and host.endswith(n[1:]) for n in self.names)

    def allows_address(self, address: IPAddress) -> bool:
        if "*" in self.kinds or classify(address) in self.kinds:
            return True
        inner = embedded_ipv4(address)
        return any(address in net or inner in net for net in self.networks)

    def allows_loopback(self) -> bool:
        return bool({"*", "loopback"} & self.kinds)

    def refusal(self, host: str, address: IPAddress) -> str:
        kind = classify(address)
        hint = f"add '{kind}' or '{address}' to {SETTING}" if kind != "other" else \
            f"add '{address}' to {SETTING}"
        shown = host if host == str(address) else f"{host} ({address})"
        return f"{shown} is a {kind} address, which {SETTING} does not allow; {hint} to allow it"


def is_localhost_name(host: str) -> bool:
    """`localhost` and names under `.localhost`, any case, with or without the trailing dot:
    loopback by definition (RFC 6761), whatever a resolver answers."""
    name = host.lower().rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


_LOOPBACK = [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")]


def _localhost_refusal(host: str) -> str:
    return (f"{host} is a loopback name, which {SETTING} does not allow; add 'loopback' to "
            f"{SETTING} to allow it")


# getaddrinfo cannot be interrupted; running it on a small pool bounds how long we wait.
_resolver = ThreadPoolExecutor(8, thread_name_prefix="dns")
SAVE_TIME_DNS_SECONDS = 3.0


def resolve(host: str, port: int, timeout: float | None = None) -> list[IPAddress]:
    """All addresses of a host (IP literals in any form glibc accepts included).

    Raises OSError when the name does not resolve, or does not within `timeout` seconds.
    """
    if timeout is None:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    else:
        future = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=max(timeout, 0.001))
        except FutureTimeout:
            raise TimeoutError(f"DNS lookup of {host} took more than {timeout:.3g} s") from None
    seen: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if address not in seen:
            seen.append(address)
    return seen


def allowed_addresses(policy: HostPolicy, host: str, port: int,
                      timeout: float | None = None) -> list[IPAddress]:
    """The addresses of `host` that may be connected to; raises HostNotAllowed if none.

    Raises OSError when the name does not resolve.
    """
    if is_localhost_name(host) and not policy.allows_name(host):
        if not policy.allows_loopback():
            raise HostNotAllowed(_localhost_refusal(host))
        try:  # only loopback answers count: the name means this machine
            answers = [a for a in resolve(host, port, timeout) if classify(a) == "loopback"]
        except OSError:
            answers = []
        return answers or _LOOPBACK
    addresses = resolve(host, port, timeout)
    if policy.allows_name(host):
        return addresses
    allowed = [a for a in addresses if policy.allows_address(a)]
    if not allowed:
        raise HostNotAllowed(policy.refusal(host, addresses[0]))
    return allowed


def check_url(url: str, policy: HostPolicy) -> str:
    """Validate a webhook URL when it is saved; return it normalised. Raises ValueError.

    A name that does not resolve now is accepted (it is checked again at send time); a name
    that resolves to any address the policy refuses is not.
    """
    url = (url or "").strip()
    if not url:
        raise ValueError("enter the URL that should receive the events")
    if len(url) > 2048:
        raise ValueError("the URL is longer than 2048 characters")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValueError(f"the URL is not valid: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("the URL must start with http:// or https://")
    host = parts.hostname
    if not host:
        raise ValueError("the URL has no host")
    if "@" in parts.netloc:
        raise ValueError("the URL must not contain a user name or password")
    if policy.allows_name(host):
        return url
    if is_localhost_name(host):
        if not policy.allows_loopback():
            raise HostNotAllowed(_localhost_refusal(host))
        return url
    try:
        addresses = resolve(host, port, SAVE_TIME_DNS_SECONDS)
    except (OSError, UnicodeError):
        return url
    for address in addresses:
        if not policy.allows_address(address):
            raise HostNotAllowed(policy.refusal(host, address))
    return url
