"""The README's table of known trade layouts is generated, up to date, and honest about unverified ones."""

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from verification.checks.trades.catalogue import (
    END,
    START,
    layouts_markdown,
    layouts_template,
    readme_with_layouts,
    template_path,
)
from verification.checks.trades.layouts import LAYOUTS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_known_layout_as_generated():
    text = README.read_text(encoding="utf-8")

    assert readme_with_layouts(text) == text, "run: python manage.py trade_layouts --write README.md"
    for layout in LAYOUTS:
        assert f"`{layout.header}`" in text


def test_the_pages_partial_listing_the_layouts_is_as_generated():
    assert template_path().read_text(encoding="utf-8") == layouts_template()


def test_layouts_without_a_source_are_named_unverified():
    block = layouts_markdown()

    assert "Unverified layouts: Bybit Spot trade history." in block
    assert block.startswith(START) and block.endswith(END)


def test_the_check_option_fails_on_a_stale_readme(tmp_path):
    stale = tmp_path / "README.md"
    stale.write_text(f"# x\n\n{START}\nold table\n{END}\n", encoding="utf-8")

    with pytest.raises(CommandError, match="out of date"):
        call_command("trade_layouts", check=stale)
    call_command("trade_layouts", write=stale)  # also rewrites the partial, unchanged
    call_command("trade_layouts", check=stale)

    assert "`Date(UTC),Market,Type,Price,Amount,Total,Fee,Fee Coin`" in stale.read_text(encoding="utf-8")


def test_every_layout_header_is_detected_as_itself():
    from tests.verification.trade_files import csv_bytes
    from verification.checks.trades import parse_export

    for layout in LAYOUTS:
        assert parse_export(csv_bytes([layout.columns]), filename="h.csv").format == layout.name
