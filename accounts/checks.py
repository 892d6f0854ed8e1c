"""Deployment checks for what the accounts' throttles need (`manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def shared_cache_check(app_configs, **kwargs) -> list[Warning]:
    """Warn when login and write throttles would count per process (no CACHE_URL)."""
    backend = settings.CACHES["default"]["BACKEND"]
    if not backend.endswith("LocMemCache"):
        return []
    return [Warning("CACHE_URL is not set: failed logins and writes are counted per web process, so "
                    "each process grants its own allowance.", hint="Point CACHE_URL at a Redis shared "
                    "by every web process (docker/compose.yml does).", id="accounts.W001")]
