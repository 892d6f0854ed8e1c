"""Trade-history exports: read them, value the window's trades and judge the loss.

- reading.py and layouts/: the bounded file (tabular), its layout found by header, one module per
  exchange layout (each a layout.Layout); rows become canonical trades (model.py).
- valuation.py: the window's net loss at daily prices.
- checks.py: the attack signature and the proof rule.
Pure functions: nothing here reads the network or the database.
"""

from tabular import xlsx_bomb_problem
from verification.checks.trades.checks import (
    MAX_LISTED,
    SignatureEntry,
    SignatureMatch,
    TradeFindings,
    attack_signature,
    net_loss_excluding,
    signature_keys,
    trade_checks,
    trade_hour,
    trade_key,
    unreadable_export_checks,
)
from verification.checks.trades.layout import Layout
from verification.checks.trades.model import (
    QUOTE_PRIORITY,
    ParsedExport,
    Skipped,
    SkippedRow,
    Trade,
    TradeFileError,
    quote_of,
)
from verification.checks.trades.reading import MAX_FILE_BYTES, MAX_ROWS, parse_export
from verification.checks.trades.valuation import STABLE, TradeLoss, TradeValue, Unpriced, trade_loss

__all__ = [
    "MAX_FILE_BYTES", "MAX_LISTED", "MAX_ROWS", "QUOTE_PRIORITY", "STABLE", "Layout", "ParsedExport",
    "SignatureEntry", "SignatureMatch", "Skipped", "SkippedRow", "Trade", "TradeFileError", "TradeFindings",
    "TradeLoss", "TradeValue", "Unpriced", "attack_signature", "net_loss_excluding", "parse_export",
    "quote_of", "signature_keys",
    "trade_checks", "trade_hour", "trade_key", "trade_loss", "unreadable_export_checks", "xlsx_bomb_problem",
]
