"""Strip credentials from URLs before they reach a study, a log or an export.

Storage URLs (postgresql://user:password@host/db) and device endpoints may carry secrets;
everything qnas writes or prints passes through `redact_url` or `redact` first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_QUERY_KEYS = frozenset(
    {"password", "passwd", "pwd", "secret", "token", "access_token", "api_key", "apikey", "auth", "sslpassword"}
)


def redact(value: Any) -> Any:
    """Copy of a JSON-like value with credentials removed from every URL it holds."""
    if isinstance(value, Mapping):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(item) for item in value]
    if isinstance(value, str) and "://" in value:
        return redact_url(value)
    return value


def redact_url(url: str) -> str:
    """Drop `user:password@` and secret query parameters (password=, token=, ...) from a URL."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k.lower() not in _SECRET_QUERY_KEYS]
    if "@" not in parts.netloc and len(kept) == len(pairs):
        return url  # nothing to strip; rebuilding would turn 'sqlite:///x.db' into 'sqlite:/x.db'
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, urlencode(kept), parts.fragment))


def redact_secrets_of(url: str, text: str) -> str:
    """`text` (a database driver's error message, say) with every secret of `url` masked: its
    password and its secret query values, which `redact_url` drops from the URL itself."""
    parts = urlsplit(url)
    secrets = [parts.password] + [v for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_QUERY_KEYS]
    for secret in filter(None, secrets):
        text = text.replace(secret, "***")
    return text
