"""Where a webhook may point (docs/alerts.md, "Webhook"): an http(s) URL without credentials whose
host resolves only to public addresses. Otherwise a household could make the scheduler POST to
the server's own network: Redis on 127.0.0.1, a cloud's metadata at 169.254.169.254, a database
on 10.x. Checked when the URL is set and again before each delivery, since DNS may change.
``ENERGY_ALERT_WEBHOOK_ALLOW_PRIVATE=true`` lets an operator send to a receiver on their own
network.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from energy_core.errors import CoreError
from energy_core.settings import get_settings

MAX_URL = 2000


class WebhookAddressError(CoreError, ValueError):
    code = "invalid_webhook_url"


def _not_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def _resolve(host: str, port: int) -> list[str]:
    try:
        return [ipaddress.ip_address(host).compressed]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # An IPv6 scope ("fe80::1%eth0") is not part of the address.
    return sorted({str(info[4][0]).split("%", 1)[0] for info in infos})


def check_webhook_url(url: str) -> str:
    """The URL, stripped, if a webhook may POST to it; else ``WebhookAddressError`` saying why.

    A name that does not resolve (yet, or during a DNS outage) is let through: nothing can be
    posted to it, and delivery checks it again and retries like any connection failure."""
    url = url.strip()
    if len(url) > MAX_URL:
        raise WebhookAddressError(f"The webhook URL is longer than {MAX_URL} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookAddressError(f"The webhook URL cannot be read: {exc}.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookAddressError("The webhook must be an http:// or https:// URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise WebhookAddressError(
            "The webhook URL may not contain a user name or password; check the signature "
            "header instead."
        )
    if get_settings().alert_webhook_allow_private:
        return url
    host = parts.hostname
    try:
        addresses = _resolve(host, port)
    except (OSError, UnicodeError):
        return url
    refused = [a for a in addresses if _not_public(ipaddress.ip_address(a))]
    if refused:
        raise WebhookAddressError(
            f"The webhook host {host} is on a private, loopback, link-local or reserved "
            f"address ({', '.join(refused)}); webhooks go only to public addresses. An operator "
            "who runs a receiver on the server's own network sets "
            "ENERGY_ALERT_WEBHOOK_ALLOW_PRIVATE=true.",
            details=[{"field": "webhook_url", "addresses": refused}],
        )
    return url


__all__ = ["WebhookAddressError", "check_webhook_url"]
