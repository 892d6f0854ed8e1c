"""Checks shared by the report form and the API: hashes and addresses per chain, ticket ids, secrets.

Each returns or raises a message a victim can act on, and never repeats the value it refuses:
what was typed may be a key pasted by mistake.
"""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from incidents.chains import (
    EVM_ADDRESS_RE,
    HASH32_RE,
    ChainValueError,
    namespace,
    normalise_address,
    normalise_tx_hash,
)
from incidents.secrets import SecretRefused, secret_check_text
from incidents.ticket_patterns import (
    TICKET_TEXT_MAX,
    TicketPatternError,
    ticket_pattern_compile,
    ticket_pattern_problem,
    ticket_pattern_search,
)

REFUSED_CODE = "refused_as_secret"


def secret_refuse(value: str) -> None:
    """Raise a ValidationError coded REFUSED_CODE when ``value`` looks like a secret."""
    try:
        secret_check_text(value)
    except SecretRefused as refused:
        raise ValidationError(str(refused), code=REFUSED_CODE) from None


def ticket_id_find(*, pattern: str, value: str) -> str | None:
    """Return the ticket id in ``value``, written as the exchange's mails show it or on its own."""
    if ticket_pattern_problem(pattern):
        return value  # a broken pattern is the admin's to fix; the mail check reports it
    match = ticket_pattern_search(pattern, value)
    if match:
        return match.group(1).strip()
    id_pattern = _first_group(pattern)
    if not id_pattern or len(value) > TICKET_TEXT_MAX:
        return None
    try:
        return value if ticket_pattern_compile(f"({id_pattern})").fullmatch(value) else None
    except TicketPatternError:
        return None


def ticket_format(pattern: str) -> str:
    """Describe a ticket-id pattern for people: "8 digits" for (\\d{8}), the pattern itself otherwise."""
    digits = re.fullmatch(r"\\d\{(\d+)\}", _first_group(pattern) or "")
    if digits:
        count = int(digits[1])
        return ngettext("%(count)s digit", "%(count)s digits", count) % {"count": count}
    return _("this pattern: %(pattern)s (the part in brackets is the id)") % {"pattern": pattern}


def _first_group(pattern: str) -> str | None:
    """Return the source of the first capturing group, e.g. ``\\d{8}`` in ``Ticket #(\\d{8})``."""
    depth, start, start_depth, escaped, in_class = 0, None, 0, False, False
    for index, char in enumerate(pattern):
        if escaped or char == "\\":
            escaped = not escaped
        elif in_class or char == "[":
            in_class = char != "]"
        elif char == "(":
            depth += 1
            if start is None and not pattern.startswith("?", index + 1):
                start, start_depth = index + 1, depth
        elif char == ")":
            if start is not None and depth == start_depth:
                return pattern[start:index]
            depth -= 1
    return None


def tx_hash_problem(*, chain: str, tx_hash: str) -> str | None:
    """Return why ``tx_hash`` is no transaction hash on ``chain``, or None when it is one."""
    try:
        normalise_tx_hash(chain, tx_hash)
    except ChainValueError:
        if namespace(chain) == "eip155":
            return _("A transaction hash on this chain is 64 hexadecimal characters (0-9, a-f), "
                     "usually written with 0x in front.")
        return _("A Bitcoin transaction id is 64 hexadecimal characters (0-9, a-f), without 0x.")
    return None


def tx_hash_error(*, chain: str, tx_hash: str) -> ValidationError | None:
    """Return why ``tx_hash`` is refused on ``chain`` (as a secret first), or None when it is a hash."""
    problem = tx_hash_problem(chain=chain, tx_hash=tx_hash)
    if problem is None:
        return None
    # What is not even shaped like a hash may be something pasted by mistake that must not come back;
    # a hash-shaped value only has the wrong prefix for the chain, and is told so.
    if not HASH32_RE.fullmatch(tx_hash.strip()):
        try:
            secret_refuse(tx_hash)
        except ValidationError as refused:
            return refused
    return ValidationError(problem)


def address_problem(*, chain: str, address: str) -> str | None:
    """Return why ``address`` is no address on ``chain``, or None when it is one."""
    try:
        normalise_address(chain, address)
    except ChainValueError:
        if namespace(chain) != "eip155":
            return _("A Bitcoin address starts with 1, 3 or bc1.")
        if EVM_ADDRESS_RE.fullmatch(address):
            return _("This address has a wrong checksum: check it letter by letter, or enter it all "
                     "in lower case.")
        return _("An address on this chain is 0x followed by 40 hexadecimal characters.")
    return None


def ticket_id_clean(*, exchange, value: str) -> str:
    """Return the bare ticket id in ``value`` for ``exchange``, or raise saying the expected format."""
    if not (exchange and value and exchange.ticket_id_regex):
        return value
    found = ticket_id_find(pattern=exchange.ticket_id_regex, value=value)
    if found is None:
        raise ValidationError(_(
            "This is not a ticket id in %(exchange)s's format: expected %(format)s, as in the "
            "subject of its support emails."
        ) % {"exchange": exchange.name, "format": ticket_format(exchange.ticket_id_regex)})
    return found


def chain_value_error(*, field: str, chain: str, value: str) -> ValidationError | None:
    """Return why ``value`` is no tx hash (``field`` "tx_hash") or address on ``chain``; None if it is."""
    if field == "tx_hash":
        return tx_hash_error(chain=chain, tx_hash=value)
    problem = address_problem(chain=chain, address=value)
    if problem is None:
        return None
    try:
        secret_refuse(value)  # anything else pasted here must not come back in the message either
    except ValidationError as refused:
        return refused
    return ValidationError(problem)
