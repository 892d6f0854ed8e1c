"""The README's table of known trade-history layouts, generated from the layouts themselves."""

import re

from verification.checks.trades.layouts import LAYOUTS

START, END = "<!-- trade-layouts:start -->", "<!-- trade-layouts:end -->"
BLOCK_RE = re.compile(re.escape(START) + r".*?" + re.escape(END), re.DOTALL)


def layouts_markdown() -> str:
    """Return the block written between the markers: one table row per layout, unverified ones named."""
    head = "| Exchange | Report | Header row (exact) | Where to download it | Columns checked against |"
    lines = [START, "", head, "|---|---|---|---|---|"]
    lines += [f"| {layout.exchange} | {layout.title} | `{layout.header}` | {layout.where} | "
              f"{layout.source or '**unverified**: no published column list found'} |" for layout in LAYOUTS]
    unverified = [f"{layout.exchange} {layout.title}" for layout in LAYOUTS if not layout.source]
    lines += ["", f"Unverified layouts: {', '.join(unverified) or 'none'}.", "", END]
    return "\n".join(lines)


def readme_with_layouts(text: str) -> str:
    """Return the README text with its layouts block replaced (the markers must be there)."""
    if not BLOCK_RE.search(text):
        raise ValueError(f"the README has no {START} ... {END} block")
    return BLOCK_RE.sub(lambda _: layouts_markdown(), text, count=1)
