"""Where a policy connection may send requests (docs/security.md, "Outbound hosts").

Two checks, both by name and address only (neither sends anything to the host):

- `check_host`, when a connection or a round is checked: the host must be one of
  POLICY_ALLOWED_HOSTS or POLICY_BASE_URL's (both set by the operator), or, when
  POLICY_ALLOWED_HOSTS is not set, a loopback address or `localhost`. An address
  written in another form than dotted decimal (2130706433, 0x7f.1, 0177.0.0.1) is refused, and a
  link-local (cloud metadata), multicast, unspecified or reserved address never passes.
- `check_resolved`, on the worker right before a client is made: what the name resolves to now.
  A host that passed as loopback must resolve to loopback only; a listed one may resolve to a
  private address (a GPU box), never to a link-local, multicast, unspecified or reserved one.

The client never follows a redirect (activelearn.policy.client), so an allowed host cannot send a
request on to another.
"""
import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

LOCALHOST = "localhost"


def allowed_hosts() -> list[str]:
    raw = settings.POLICY_ALLOWED_HOSTS
    return [h.strip().lower() for h in (raw.split(",") if isinstance(raw, str) else raw) if h.strip()]


def _listed(host: str, port: int | None) -> bool:
    """Named by the operator: in POLICY_ALLOWED_HOSTS, or POLICY_BASE_URL's host and port."""
    base = urlsplit(settings.POLICY_BASE_URL) if settings.POLICY_BASE_URL else None
    if base is not None and base.hostname and (base.hostname.lower().rstrip("."), base.port) == (host, port):
        return True
    return host_allowed(host, port, allowed_hosts())


def _entry(entry: str) -> tuple[str, str]:
    """(host, port) of an entry: `host`, `host:port`, `[v6]`, `[v6]:port`, `.domain`."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else ""
    if entry.count(":") == 1:
        host, _, port = entry.partition(":")
        return host, port
    return entry, ""


def host_allowed(host: str, port: int | None, allowed: list[str]) -> bool:
    """`host` or `host:port` entries; `.example.org` allows its subdomains."""
    host = host.lower().rstrip(".")
    for entry in allowed:
        name, want_port = _entry(entry)
        name = name.rstrip(".") if not name.startswith(".") else name
        if want_port and str(port) != want_port:
            continue
        if host == name or (name.startswith(".") and host.endswith(name)):
            return True
    return False


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address `host` is written as, or None for a name. ValueError for an address in
    another form than dotted decimal, which resolvers read as an address all the same."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:
            socket.inet_aton(host)  # parses only; 2130706433 and 0x7f.1 are 127.0.0.1 to a resolver
        except OSError:
            return None
        raise ValueError("an IP address must be written in dotted decimal (like 127.0.0.1)") from None
    return ip.ipv4_mapped or ip if isinstance(ip, ipaddress.IPv6Address) else ip


def _never(ip) -> str:
    """Why no connection may reach `ip`, or "" if it is not one of those."""
    if ip.is_loopback:  # ::1 sits in a reserved block
        return ""
    for kind, bad in (("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                      ("unspecified", ip.is_unspecified), ("reserved", ip.is_reserved)):
        if bad:
            return f"a {kind} address"
    return ""


def check_host(host: str, port: int | None) -> None:
    """The static check of a base_url's host (no lookup): ValueError saying why it is refused."""
    host = host.lower().rstrip(".")
    ip = _address(host)
    if ip is not None and (why := _never(ip)):
        raise ValueError(f"host {host} is {why}")
    if _listed(host, port):
        return
    if allowed_hosts():
        raise ValueError(f"host {host} is not in POLICY_ALLOWED_HOSTS")
    if not (host == LOCALHOST or (ip is not None and ip.is_loopback)):
        raise ValueError(f"host {host} is not loopback: an operator lists other hosts in POLICY_ALLOWED_HOSTS")


def check_resolved(host: str, port: int | None) -> None:
    """What `host` resolves to now: ValueError if an address may not be reached (OSError if it does
    not resolve). A lookup, never a connection."""
    host = host.lower().rstrip(".")
    infos = socket.getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
    check_addresses(host, port, [ipaddress.ip_address(sockaddr[0].split("%")[0]) for *_, sockaddr in infos])


def check_addresses(host: str, port: int | None, addresses: list) -> None:
    """ValueError unless every address `host` resolved to may be reached: never a link-local,
    multicast, unspecified or reserved one; loopback ones only unless the operator named the host."""
    loopback_only = not _listed(host.lower().rstrip("."), port)
    for ip in addresses:
        ip = ip.ipv4_mapped or ip if isinstance(ip, ipaddress.IPv6Address) else ip
        if why := _never(ip):
            raise ValueError(f"host {host} resolves to {ip}, {why}")
        if loopback_only and not ip.is_loopback:
            raise ValueError(f"host {host} resolves to {ip}, not a loopback address: an operator lists other "
                             "hosts in POLICY_ALLOWED_HOSTS")
