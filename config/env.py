"""Typed readers for settings that come from the environment.

Every reader names the variable in its error so that a bad value fails at start-up
with a message an operator can act on.
"""

import os
import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

CAIP2_RE = re.compile(r"^[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,32}$")
TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def env_str(name: str, default: str | None = None) -> str:
    """Return a string variable; without a default the variable is required."""
    value = os.environ.get(name)
    if value is None or value == "":
        if default is None:
            raise ImproperlyConfigured(f"{name} must be set (it has no default in this mode).")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    """Return a yes/no variable, refusing anything that is neither."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default  # empty keeps the default, so a blank line never weakens a security flag
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1/0, true/false or yes/no.")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """Return an integer variable no smaller than ``minimum`` (nor above ``maximum``, when given)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum of {maximum}.")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    """Return a decimal-number variable no smaller than ``minimum``."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.") from None
    if not value >= minimum or value == float("inf"):
        raise ImproperlyConfigured(f"{name}={raw} must be a finite number of at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated variable as a list without blanks."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_endpoints(name: str, default: str, *, namespaces: tuple[str, ...]) -> dict[str, list[str]]:
    """Parse ``CAIP2=URL`` pairs into {caip2: [url, ...]}, keeping the order given."""
    endpoints: dict[str, list[str]] = {}
    for pair in env_list(name, default.split(",") if default else []):
        caip2, sep, url = pair.partition("=")
        caip2, url = caip2.strip(), url.strip()
        if not sep or not CAIP2_RE.match(caip2):
            raise ImproperlyConfigured(
                f"{name}: {caip2!r} is not followed by =URL or is not a CAIP-2 chain id "
                "(expected pairs such as eip155:1=https://rpc.example)."
            )
        if caip2.split(":")[0] not in namespaces:
            allowed = ", ".join(f"{ns}:" for ns in namespaces)
            raise ImproperlyConfigured(f"{name}: chain {caip2!r} must start with {allowed}")
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            # Only the scheme and host: endpoint paths and queries often carry API keys.
            shown = f"{parts.scheme}://{parts.hostname or ''}"
            raise ImproperlyConfigured(f"{name}: the endpoint for {caip2} ({shown}…) is not an http(s) URL.")
        endpoints.setdefault(caip2, []).append(url)
    return endpoints
