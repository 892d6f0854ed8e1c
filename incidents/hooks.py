"""Duties incidents hands up to verification: check what was stored, weigh again what was withdrawn.

incidents sits below verification (docs/architecture.md, "Hooks") and cannot import it. The
verification app registers one handler per duty when it loads (VerificationConfig.ready); a
duty with no handler raises, so a stored report is never left unchecked in silence. Unlike the
notices of incidents/signals.py, which any number of apps may ignore, each duty here has
exactly one owner.

One read goes the same way: the reporter's own pages show their report's checks, which
verification stores, so verification hands down the query they read (``check_results``).
"""

from collections.abc import Callable

from django.db.models import QuerySet

DUTIES = ("report_stored", "reports_imported", "evidence_stored", "reports_rivals_lost", "check_results")

_handlers: dict[str, Callable[..., object]] = {}


class HookMissing(RuntimeError):
    """No app took on a duty that incidents hands up: the verification app is not loaded."""


def register(**handlers: Callable[..., object]) -> None:
    """Install the handler of each named duty, replacing the one installed before."""
    unknown = set(handlers) - set(DUTIES)
    if unknown:
        raise ValueError(f"unknown duties: {', '.join(sorted(unknown))}")
    _handlers.update(handlers)


def _handler(duty: str) -> Callable[..., object]:
    try:
        return _handlers[duty]
    except KeyError:
        raise HookMissing(f"no handler for {duty!r}: is the verification app installed?") from None


def report_stored(*, report_id: int) -> None:
    """Queue the checks of a report that was just stored (called once its transaction commits)."""
    _handler("report_stored")(report_id=report_id)


def reports_imported(*, report_ids: list[int], leased: bool = False) -> None:
    """Queue the checks of the reports a sheet import stored (called once its transaction commits).

    ``leased``: the rows were written with their in-flight marker set (no claim needed).
    """
    _handler("reports_imported")(report_ids=report_ids, leased=leased)


def evidence_stored(*, evidence_id: int) -> None:
    """Queue the checks of a file that was just stored (called once its transaction commits)."""
    _handler("evidence_stored")(evidence_id=evidence_id)


def reports_rivals_lost(*, report_ids: list[int]) -> None:
    """Recompute reports that competed with a withdrawn one for a transfer or a ticket, now."""
    _handler("reports_rivals_lost")(report_ids=report_ids)


def check_results() -> QuerySet:
    """Return verification's stored check results, for the reporter's pages to prefetch."""
    return _handler("check_results")()
