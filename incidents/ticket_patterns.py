"""Ticket-id patterns, compiled with a linear-time engine (RE2) and run on bounded text only.

Admins type these patterns; the text they run on comes from reporters and mails, that is from
possible attackers. Python's `re` backtracks, so a pattern such as `(a+)+$` can take forever on
crafted text; RE2 cannot, and refuses what only a backtracking engine can run (back-references,
look-arounds). Used by `load_incident`, the admin (a model validator), the forms and the mail check.
"""

from functools import lru_cache

import re2
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Characters of attacker text a pattern is ever run on: far more than a subject or a support
# mail's first screens hold, far less than a mail or a field may be.
TICKET_TEXT_MAX = 20_000


class TicketPatternError(ValueError):
    """A pattern RE2 cannot compile, or one without a group around the ticket id."""


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is reported to the admin, not to stderr
    return options


@lru_cache(maxsize=256)
def ticket_pattern_compile(pattern: str):
    """Return the RE2 program for ``pattern``, or raise TicketPatternError saying why it is refused."""
    try:
        compiled = re2.compile(pattern, options=_options())
    except re2.error as exc:
        problem = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise TicketPatternError(_("is not a valid regular expression for the linear-time engine (RE2): "
                                   "%(problem)s. Back-references and look-arounds are not supported.")
                                 % {"problem": problem}) from None
    if compiled.groups < 1:
        raise TicketPatternError(_("needs a capturing group around the ticket id"))
    return compiled


def ticket_pattern_problem(pattern: str) -> str | None:
    """Return why ``pattern`` cannot be used as a ticket pattern, or None when it can."""
    try:
        ticket_pattern_compile(pattern)
    except TicketPatternError as exc:
        return str(exc)
    return None


def ticket_pattern_search(pattern: str, text: str):
    """Search the first TICKET_TEXT_MAX characters of ``text``; None for a refused pattern."""
    try:
        return ticket_pattern_compile(pattern).search(text[:TICKET_TEXT_MAX])
    except TicketPatternError:
        return None


def validate_ticket_pattern(value: str) -> None:
    """Model validator: refuse a ticket pattern RE2 cannot run (the admin's check)."""
    problem = ticket_pattern_problem(value) if value else None
    if problem:
        raise ValidationError(_("This ticket pattern %(problem)s") % {"problem": problem})
