"""Kraken's asset codes and pairs, shared by its ledgers and trades layouts."""

from verification.checks.trades.rows import Row

ASSETS = {
    "XXBT": "BTC", "XBT": "BTC", "XETH": "ETH", "ETH2": "ETH", "XLTC": "LTC", "XXRP": "XRP", "XXLM": "XLM",
    "XXDG": "DOGE", "XDG": "DOGE", "XETC": "ETC", "XZEC": "ZEC", "XXMR": "XMR", "XREP": "REP", "XMLN": "MLN",
    "XXTZ": "XTZ", "ZUSD": "USD", "ZEUR": "EUR", "ZGBP": "GBP", "ZCAD": "CAD", "ZJPY": "JPY", "ZCHF": "CHF",
    "ZAUD": "AUD",
}
# Plain quote suffixes of pairs such as XTZUSD or ADAXBT, longer before their own endings.
QUOTES = ("USDT", "USDC", "PYUSD", "DAI", "USD", "EUR", "GBP", "CAD", "JPY", "CHF", "AUD", "XBT", "ETH",
          "DOT")


def asset(row: Row, column: str, code: str) -> str:
    """Map Kraken's codes (XXBT, ZUSD, ETH2.S, USD.HOLD) to the common symbol."""
    plain = code.strip().upper().split(".")[0]
    return row.asset(column, ASSETS.get(plain, plain))


def pair(row: Row) -> tuple[str, str]:
    """Split XXBTZUSD, USDTZUSD, XTZUSD, ADAXBT or XBT/USD into base and quote."""
    text = row.required("pair").upper()
    if "/" in text:
        base, _, quote = text.partition("/")
    elif len(text) == 8 and text[4:] in ASSETS:
        base, quote = text[:4], text[4:]
    else:
        quote = next((q for q in QUOTES if text.endswith(q) and len(text) > len(q)), "")
        if not quote:
            row.fail("pair", f"not a pair of known quote: {text[:40]!r}")
        base = text[:-len(quote)]
    return asset(row, "pair", base), asset(row, "pair", quote)
