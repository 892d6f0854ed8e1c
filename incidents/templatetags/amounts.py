"""Template filters for amounts as people read them."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def plain_amount(value) -> str:
    """A token amount without the padding of its column: ``12``, not ``12.000000000000000000``.

    The digits are exact (never a float), as the register writes them; an empty value stays empty.
    """
    if value is None or value == "":
        return ""
    try:
        return format(Decimal(value).normalize(), "f")
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
