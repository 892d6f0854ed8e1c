"""Template filters for amounts as the register writes them."""

from django import template

from registry.exports import exact

register = template.Library()


@register.filter
def plain_amount(value) -> str:
    """A token amount as the register writes it: ``12``, not ``12.000000000000000000``; None as ""."""
    return exact(value) or ""
