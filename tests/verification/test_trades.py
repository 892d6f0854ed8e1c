"""Trade-history exports: reading every format, valuing the window, the attack signature, the checks."""

import codecs
import csv
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.verification.trade_files import (
    BINANCE_TRADES,
    BINANCE_TRANSACTIONS,
    COINBASE_NEWER,
    COINBASE_NEWER_PREAMBLE,
    COINBASE_OLDER,
    COINBASE_OLDER_PREAMBLE,
    KRAKEN_LEDGERS,
    KRAKEN_TRADES,
    csv_bytes,
    plain_zip,
    xlsx_bytes,
    zip_bomb,
    zip_declaring,
)
from verification.checks.trades import (
    MAX_FILE_BYTES,
    MAX_ROWS,
    Skipped,
    Trade,
    TradeFileError,
    attack_signature,
    parse_export,
    trade_checks,
    trade_loss,
    unreadable_export_checks,
)

DAY = date(2022, 11, 15)
START = datetime(2022, 11, 15, tzinfo=UTC)
END = datetime(2022, 11, 16, 23, 59, 59, tzinfo=UTC)
PRICES = {("BTC", DAY): Decimal("20000"), ("BNB", DAY): Decimal("300"), ("XYZ", DAY): Decimal("1")}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def trade(time: str, pair: str, side: str, base: str, quote: str, fee: str = "", row: int = 2,
          rows: tuple[int, ...] = ()) -> Trade:
    """A trade written the short way: amounts as text, fees as "0.01 BNB" or "0.01 BNB; 2 USDT"."""
    base_asset, quote_asset = pair.split("/")
    fees = [part.strip().split(" ") for part in fee.split(";") if part.strip()]
    return Trade(time=at(time), pair=pair, side=side, base_asset=base_asset, base_amount=Decimal(base),
                 quote_asset=quote_asset, quote_amount=Decimal(quote),
                 fees=tuple(sorted((asset, Decimal(amount)) for amount, asset in fees)), row=row,
                 rows=rows or (row,))


def parse(data: bytes, filename: str = "export.csv"):
    return parse_export(data, filename=filename)


def refused(data: bytes, filename: str = "export.csv") -> str:
    with pytest.raises(TradeFileError) as caught:
        parse(data, filename)
    return str(caught.value)


# ---- Reading each format -----------------------------------------------------------------------


def test_it_reads_a_binance_trade_history_with_a_bom_and_asset_suffixes():
    data = csv_bytes([
        BINANCE_TRADES,
        ["2022-11-15 13:45:10", "BTCUSDT", "BUY", "20000", "0.5BTC", "10000USDT", "0.01BNB"],
        ["2022-11-15 13:50:00", "XYZBTC", "SELL", "0.00001", "1,000XYZ", "0.01BTC", "0.00001BTC"],
    ], bom=True)

    export = parse(data)

    assert (export.format, export.rows, export.skipped) == ("binance_trades", 2, [])
    assert export.trades == [
        trade("2022-11-15 13:45:10", "BTC/USDT", "buy", "0.5", "10000", "0.01 BNB", row=2),
        trade("2022-11-15 13:50:00", "XYZ/BTC", "sell", "1000", "0.01", "0.00001 BTC", row=3),
    ]


def test_it_reads_a_binance_trade_history_saved_with_semicolons_and_decimal_commas():
    data = csv_bytes([
        BINANCE_TRADES,
        ["22-11-15 13:45:10", "1INCHUSDT", "SELL", "0,5", "100,5 1INCH", "50,25USDT", "0,05025USDT"],
    ], delimiter=";")

    export = parse(data)

    assert export.trades == [
        trade("2022-11-15 13:45:10", "1INCH/USDT", "sell", "100.5", "50.25", "0.05025 USDT")]


def test_it_groups_binance_transaction_rows_of_one_second_into_one_trade():
    data = csv_bytes([
        BINANCE_TRANSACTIONS,
        ["1001", "2022-11-15 13:00:00", "Spot", "Deposit", "BTC", "1", ""],
        ["1001", "2022-11-15 13:45:10", "Spot", "Transaction Sold", "BTC", "-0.5", ""],
        ["1001", "2022-11-15 13:45:10", "Spot", "Transaction Revenue", "USDT", "10000", ""],
        ["1001", "2022-11-15 13:45:10", "Spot", "Transaction Fee", "USDT", "-10", ""],
        ["1001", "2022-11-15 13:46:00", "Spot", "Buy", "XYZ", "5000", ""],
        ["1001", "2022-11-15 13:46:00", "Spot", "Buy", "USDT", "-10000", ""],
        ["1001", "2022-11-15 13:46:00", "Spot", "Fee", "BNB", "-0.01", ""],
        ["1001", "2022-11-15 14:00:00", "Spot", "Withdraw", "XYZ", "-5000", ""],
    ])

    export = parse(data)

    assert (export.format, export.rows, export.skipped) == ("binance_transactions", 8, [])
    assert export.trades == [
        trade("2022-11-15 13:45:10", "BTC/USDT", "sell", "0.5", "10000", "10 USDT", row=3, rows=(3, 4, 5)),
        trade("2022-11-15 13:46:00", "XYZ/USDT", "buy", "5000", "10000", "0.01 BNB", row=6, rows=(6, 7, 8)),
    ]
    assert [(s.row, s.reason, s.detail) for s in export.skipped_rows] == [
        (2, "not_a_trade", "Deposit"), (9, "not_a_trade", "Withdraw")]


def test_it_lists_binance_transaction_groups_that_are_not_one_pair_instead_of_guessing():
    data = csv_bytes([
        BINANCE_TRANSACTIONS,
        ["1001", "2022-11-15 13:45:10", "Spot", "Transaction Sold", "BTC", "-1", ""],
        ["1001", "2022-11-15 13:45:10", "Spot", "Transaction Revenue", "ETH", "10", ""],
        ["1001", "2022-11-15 13:45:10", "Spot", "Transaction Revenue", "XYZ", "100", ""],
    ])

    export = parse(data)

    assert export.trades == []
    assert export.skipped == [Skipped(2, at("2022-11-15 13:45:10"), "not_one_pair",
                                      {"BTC": Decimal("-1"), "ETH": Decimal("10"), "XYZ": Decimal("100")},
                                      {}, (2, 3, 4))]


def test_it_reads_the_older_coinbase_export_after_its_preamble():
    data = csv_bytes([
        COINBASE_OLDER,
        ["2022-11-15T13:45:10Z", "Buy", "BTC", "0.01", "USD", "20000.00", "200.00", "202.99", "2.99",
         "Bought 0.0100 BTC for $202.99 USD"],
        ["2022-11-15T14:00:00Z", "Send", "BTC", "0.005", "USD", "20000.00", "", "", "",
         "Sent 0.005 BTC to 1abc"],
        ["2022-11-16T09:00:00Z", "Convert", "ETH", "1.5", "USD", "1200.00", "1800.00", "1800.00", "10.00",
         "Converted 1.5 ETH to 1,790.123456 USDC"],
    ], preamble=COINBASE_OLDER_PREAMBLE)

    export = parse(data)

    assert (export.format, export.rows) == ("coinbase", 3)
    assert export.trades == [
        trade("2022-11-15 13:45:10", "BTC/USD", "buy", "0.01", "200.00", "2.99 USD", row=8),
        trade("2022-11-16 09:00:00", "ETH/USDC", "sell", "1.5", "1790.123456", "10 USD", row=10),
    ]


def test_it_reads_the_newer_coinbase_export_with_dollar_amounts():
    data = csv_bytes([
        COINBASE_NEWER,
        ["65a1", "2023-05-01 12:00:00 UTC", "Advanced Trade Sell", "BTC", "-0.1", "USD", "$29,000.00",
         "-$2,900.00", "-$2,885.50", "$14.50", "Sold 0.1 BTC for 2885.50 USD"],
        ["65a2", "2023-05-01 12:05:00 UTC", "Buy", "ETH", "2", "USD", "$1,900.00", "$3,800.00", "$3,822.80",
         "$22.80", "Bought 2 ETH for 3822.80 USD"],
        ["65a3", "2023-05-01 13:00:00 UTC", "Receive", "ETH", "1", "USD", "$1,900.00", "$1,900.00",
         "$1,900.00", "$0.00", "Received 1 ETH from an external account"],
    ], preamble=COINBASE_NEWER_PREAMBLE)

    export = parse(data)

    assert (export.format, export.rows) == ("coinbase_2023", 3)
    assert export.trades == [
        trade("2023-05-01 12:00:00", "BTC/USD", "sell", "0.1", "2900", "14.50 USD", row=5),
        trade("2023-05-01 12:05:00", "ETH/USD", "buy", "2", "3800", "22.80 USD", row=6),
    ]


def test_it_reads_kraken_ledgers_grouped_by_refid_with_kraken_asset_codes():
    data = csv_bytes([
        KRAKEN_LEDGERS,
        ["L1", "R1", "2022-11-15 13:45:10.1234", "trade", "", "currency", "XXBT", "-0.5000000000", "0",
         "0.5"],
        ["L2", "R1", "2022-11-15 13:45:10.1234", "trade", "", "currency", "ZUSD", "10000.0000", "16.0000",
         "9984"],
        ["L3", "R2", "2022-11-15 13:50:00", "deposit", "", "currency", "ZEUR", "500", "0", "500"],
        ["L4", "R3", "2022-11-15 14:00:00", "spend", "", "currency", "ZEUR", "-100.00", "1.50", "398.5"],
        ["L5", "R3", "2022-11-15 14:00:00", "receive", "", "currency", "ETH2.S", "0.08", "0", "0.08"],
    ], quoting=csv.QUOTE_ALL)

    export = parse(data)

    assert (export.format, export.rows, export.skipped) == ("kraken_ledgers", 5, [])
    assert export.trades == [
        trade("2022-11-15 13:45:10.123400", "BTC/USD", "sell", "0.5", "10000", "16 USD", row=2, rows=(2, 3)),
        trade("2022-11-15 14:00:00", "ETH/EUR", "buy", "0.08", "100", "1.50 EUR", row=5, rows=(5, 6)),
    ]


def test_it_reads_kraken_trades_and_splits_legacy_and_plain_pairs():
    data = csv_bytes([
        KRAKEN_TRADES,
        ["T1", "O1", "XXBTZUSD", "2022-11-15 13:45:10", "sell", "limit", "20000.0", "10000.0", "16.0", "0.5",
         "0.0", "", "L1,L2"],
        ["T2", "O2", "XTZUSD", "2022-11-15 13:46:00", "buy", "market", "1.2", "120", "0.3", "100", "0", "",
         ""],
        ["T3", "O3", "USDTZUSD", "2022-11-15 13:47:00", "buy", "market", "1.0", "50", "0.1", "50", "0", "",
         ""],
        ["T4", "O4", "XBT/EUR", "2022-11-15 13:48:00", "sell", "market", "19000", "1900", "3", "0.1", "0", "",
         ""],
    ], quoting=csv.QUOTE_ALL)

    export = parse(data)

    assert export.format == "kraken_trades"
    assert export.trades == [
        trade("2022-11-15 13:45:10", "BTC/USD", "sell", "0.5", "10000", "16 USD", row=2),
        trade("2022-11-15 13:46:00", "XTZ/USD", "buy", "100", "120", "0.3 USD", row=3),
        trade("2022-11-15 13:47:00", "USDT/USD", "buy", "50", "50", "0.1 USD", row=4),
        trade("2022-11-15 13:48:00", "BTC/EUR", "sell", "0.1", "1900", "3 EUR", row=5),
    ]


def test_it_reads_the_same_trades_from_an_xlsx_workbook_with_typed_cells():
    rows = [["T1", "O1", "XXBTZUSD", datetime(2022, 11, 15, 13, 45, 10), "sell", "limit", 20000.0, 10000.0,
             16.0, 0.5, 0.0, None, "L1,L2"]]
    as_text = [[cell.isoformat(sep=" ") if isinstance(cell, datetime) else "" if cell is None else str(cell)
                for cell in row] for row in rows]

    from_xlsx = parse(xlsx_bytes([KRAKEN_TRADES, *rows]), "trades.xlsx")
    from_csv = parse(csv_bytes([KRAKEN_TRADES, *as_text]))

    assert from_xlsx.format == "kraken_trades"
    assert from_xlsx.trades == from_csv.trades == [
        trade("2022-11-15 13:45:10", "BTC/USD", "sell", "0.5", "10000", "16 USD", row=2)]


def test_it_reads_a_binance_workbook_whose_header_sits_below_a_title_row():
    rows = [["Trade History"], BINANCE_TRADES,
            ["2022-11-15 13:45:10", "BTCUSDT", "BUY", "20000", "0.5BTC", "10000USDT", "0.01BNB"]]

    export = parse(xlsx_bytes(rows), "history.xlsx")

    assert export.trades == [
        trade("2022-11-15 13:45:10", "BTC/USDT", "buy", "0.5", "10000", "0.01 BNB", row=3)]


# ---- The window and its loss ------------------------------------------------------------------


def test_it_selects_the_trades_inside_the_window_bounds_included():
    times = [START - timedelta(seconds=1), START, START + timedelta(hours=5), END, END + timedelta(seconds=1)]
    trades = [trade(t.replace(tzinfo=None).isoformat(), "BTC/USDT", "sell", "0.1", "2000", row=i)
              for i, t in enumerate(times, start=2)]

    loss = trade_loss(trades=trades, window_start=START, window_end=END, prices=PRICES)

    assert [t.row for t in loss.trades] == [3, 4, 5]


def test_it_values_both_legs_and_the_fee_at_the_daily_price_and_nets_the_loss():
    trades = [trade("2022-11-15 13:45:10", "BTC/USDT", "sell", "0.5", "10000", "10 USDT"),
              trade("2022-11-15 13:46:00", "XYZ/USDT", "buy", "5000", "10000", "0.01 BNB", row=3)]

    loss = trade_loss(trades=trades, window_start=START, window_end=END, prices=PRICES)

    assert [(v.given_usd, v.received_usd, v.fee_usd, v.loss_usd) for v in loss.valued] == [
        (Decimal("10010.00"), Decimal("10000.00"), Decimal("10.00"), Decimal("10.00")),
        (Decimal("10003.00"), Decimal("5000.00"), Decimal("3.00"), Decimal("5003.00")),
    ]
    assert (loss.given_usd, loss.received_usd, loss.loss_usd) == (
        Decimal("20013.00"), Decimal("15000.00"), Decimal("5013.00"))
    assert loss.unpriced == []


def test_it_values_a_trade_at_the_price_of_its_own_utc_date():
    prices = {**PRICES, ("BTC", date(2022, 11, 16)): Decimal("10000")}
    trades = [trade("2022-11-16 00:30:00", "BTC/USDT", "sell", "1", "9000")]

    loss = trade_loss(trades=trades, window_start=START, window_end=END, prices=prices)

    assert loss.valued[0].prices == {"BTC": Decimal("10000"), "USDT": Decimal(1)}
    assert loss.loss_usd == Decimal("1000.00")


def test_it_counts_a_stablecoin_without_a_price_as_one_dollar_but_prefers_an_imported_price():
    trades = [trade("2022-11-15 13:45:10", "BTC/USDT", "sell", "1", "20000")]

    pegged = trade_loss(trades=trades, window_start=START, window_end=END, prices=PRICES)
    depegged = trade_loss(trades=trades, window_start=START, window_end=END,
                          prices={**PRICES, ("USDT", DAY): Decimal("0.9")})

    assert pegged.loss_usd == Decimal("0.00")
    assert depegged.loss_usd == Decimal("2000.00")


def test_it_never_values_a_trade_with_a_missing_price_at_zero():
    trades = [trade("2022-11-15 13:45:10", "BTC/USDT", "sell", "0.5", "10000"),
              trade("2022-11-15 13:46:00", "PUMP/USDT", "buy", "5000", "10000", row=3)]

    loss = trade_loss(trades=trades, window_start=START, window_end=END, prices=PRICES)
    nothing = trade_loss(trades=trades[1:], window_start=START, window_end=END, prices=PRICES)

    assert [(u.trade.row, u.reason, u.missing) for u in loss.unpriced] == [(3, "price_missing", ["PUMP"])]
    assert [v.trade.row for v in loss.valued] == [2]
    assert loss.loss_usd == Decimal("0.00")
    assert nothing.loss_usd is None


def test_it_floors_a_net_gain_over_the_window_at_zero_loss():
    trades = [trade("2022-11-15 13:45:10", "BTC/USDT", "sell", "1", "25000")]

    loss = trade_loss(trades=trades, window_start=START, window_end=END, prices=PRICES)

    assert loss.valued[0].loss_usd == Decimal("-5000.00")
    assert loss.loss_usd == Decimal("0.00")


# ---- Attack signature --------------------------------------------------------------------------


def pump(time: str, row: int = 2) -> Trade:
    return trade(time, "XYZ/USDT", "buy", "5000", "10000", row=row)


def test_it_finds_a_pair_that_three_victims_traded_in_the_same_hour():
    victims = {
        "alice": [pump("2022-11-15 13:05:00"), pump("2022-11-15 13:10:00", row=3)],
        "bob": [pump("2022-11-15 13:59:59")],
        "carol": [pump("2022-11-15 13:30:00"),
                  trade("2022-11-15 13:31:00", "BTC/USDT", "sell", "1", "20000")],
        "dave": [pump("2022-11-15 14:00:00")],
    }

    signature = attack_signature(victims)

    assert [(e.pair, e.hour, e.victims) for e in signature] == [("XYZ/USDT", at("2022-11-15 13:00:00"), 3)]


def test_it_sees_no_signature_in_two_victims_or_in_one_victim_trading_often():
    alice = [pump("2022-11-15 13:05:00"), pump("2022-11-15 13:06:00"), pump("2022-11-15 13:07:00")]
    victims = {"alice": alice, "bob": [pump("2022-11-15 13:59:59")]}

    assert attack_signature(victims) == []
    assert len(attack_signature(victims, min_victims=2)) == 1


# ---- The checks --------------------------------------------------------------------------------


def victim_export() -> tuple:
    data = csv_bytes([
        BINANCE_TRADES,
        ["2022-11-15 13:45:10", "BTCUSDT", "SELL", "20000", "0.5BTC", "10000USDT", "10USDT"],
        ["2022-11-15 13:46:00", "XYZUSDT", "BUY", "2", "5000XYZ", "10000USDT", "0.01BNB"],
        ["2022-11-15 13:47:00", "XYZUSDT", "BUY", "2", "10XYZ", "20USDT", "0"],
    ])
    export = parse(data)
    return export, trade_loss(trades=export.trades, window_start=START, window_end=END, prices=PRICES)


def checks_of(findings) -> dict[str, tuple[str, list[str]]]:
    return {o.name: (o.outcome, o.reasons) for o in findings.outcomes}


def others_signature():
    """The signature two other reporters' exports build (the caller never counts the export judged)."""
    return attack_signature({"b": [pump("2022-11-15 13:00:00")], "c": [pump("2022-11-15 13:20:00")]},
                            min_victims=2)


def test_it_proves_a_trade_loss_that_fits_the_attack_signature_and_shows_every_match():
    export, loss = victim_export()
    signature = others_signature()

    findings = trade_checks(export=export, loss=loss, signature=signature, claimed_amount_usd=None,
                            tolerance=Decimal("0.25"))

    assert checks_of(findings) == {"export_parsed": ("pass", []), "trade_loss_consistent": ("pass", [])}
    assert findings.proven and findings.verified_loss_usd == Decimal("5023.00")
    assert [(m.pair, m.hour, m.row, m.victims) for m in findings.matches] == [
        ("XYZ/USDT", at("2022-11-15 13:00:00"), 3, 2), ("XYZ/USDT", at("2022-11-15 13:00:00"), 4, 2)]
    raw = findings.outcomes[1].raw
    assert raw["grounds"] == ["attack_signature"] and raw["off_market"] == []
    assert [m["row"] for m in raw["matches"]] == [3, 4]
    parsed = findings.outcomes[0].raw
    keys = ("filename", "format", "rows", "trades", "trades_in_window", "skipped")
    assert {k: parsed[k] for k in keys} == {
        "filename": "export.csv", "format": "binance_trades", "rows": 3, "trades": 3, "trades_in_window": 3,
        "skipped": 0}
    assert [(t["row"], t["pair"], t["in_window"]) for t in parsed["trade_rows"]] == [
        (2, "BTC/USDT", True), (3, "XYZ/USDT", True), (4, "XYZ/USDT", True)]
    json.dumps([o.raw for o in findings.outcomes])  # stored as JSON with the check result


def test_an_export_that_only_agrees_with_its_own_claim_documents_but_proves_nothing():
    # Before the proof rule this passed on "claimed_amount" grounds: a file its owner can edit proved itself.
    export, loss = victim_export()

    findings = trade_checks(export=export, loss=loss, signature=[], claimed_amount_usd=Decimal("6000"),
                            tolerance=Decimal("0.25"))

    assert checks_of(findings)["trade_loss_consistent"] == ("inconclusive", ["uncorroborated"])
    assert findings.outcomes[1].raw["claim_fits"] is True
    assert not findings.proven and findings.verified_loss_usd is None and findings.matches == []


def test_a_trade_loss_far_from_the_claim_without_a_signature_match_is_uncorroborated():
    export, loss = victim_export()

    findings = trade_checks(export=export, loss=loss, signature=[], claimed_amount_usd=Decimal("9000"),
                            tolerance=Decimal("0.25"))

    assert checks_of(findings)["trade_loss_consistent"] == ("inconclusive", ["uncorroborated"])
    assert findings.outcomes[1].raw["claim_fits"] is False
    assert not findings.proven and findings.verified_loss_usd is None


@pytest.mark.parametrize(("trades", "expected"), [
    ([pump("2022-11-20 13:00:00")], ("fail", ["no_trades_in_window"])),
    ([trade("2022-11-15 13:00:00", "PUMP/USDT", "buy", "1", "10000")], ("inconclusive", ["price_missing"])),
    ([trade("2022-11-15 13:00:00", "BTC/USDT", "sell", "1", "25000")], ("fail", ["no_loss"])),
])
def test_it_proves_nothing_without_a_priced_loss_in_the_window(trades, expected):
    export, _ = victim_export()
    loss = trade_loss(trades=trades, window_start=START, window_end=END, prices=PRICES)
    signature = attack_signature({"a": trades, "b": trades, "c": trades})

    findings = trade_checks(export=export, loss=loss, signature=signature,
                            claimed_amount_usd=Decimal("10000"), tolerance=Decimal("0.25"))

    assert checks_of(findings)["trade_loss_consistent"] == expected
    assert not findings.proven


def test_an_unreadable_export_fails_its_parse_check_and_judges_nothing():
    findings = unreadable_export_checks(filename="x.csv", error=TradeFileError("not UTF-8 text"))

    assert checks_of(findings) == {"export_parsed": ("fail", ["export_unreadable"]),
                                   "trade_loss_consistent": ("inconclusive", ["export_unreadable"])}
    assert findings.outcomes[0].raw == {"filename": "x.csv", "error": "not UTF-8 text",
                                        "error_code": "unreadable"}


# ---- Bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("rows", "message"), [
    ([BINANCE_TRADES, ["2022-11-15 13:45:10", "BTCUSDT", "BUY", "1", "0.5BTC", "1USDT", "0"],
      ["yesterday", "BTCUSDT", "BUY", "1", "0.5BTC", "1USDT", "0"]],
     "row 3, column Date(UTC): not a date and time: 'yesterday'"),
    ([BINANCE_TRADES, ["2022-11-15 13:45:10", "BTCUSDT", "HOLD", "1", "0.5BTC", "1USDT", "0"]],
     "row 2, column Side: not buy or sell: 'hold'"),
    ([BINANCE_TRADES, ["2022-11-15 13:45:10", "BTCUSDT", "BUY", "1", "0.5ETH", "1USDT", "0"]],
     "row 2, column Executed: '0.5ETH' and '1USDT' do not name the assets of 'BTCUSDT'"),
    ([KRAKEN_TRADES, ["T1", "O1", "XXBTZUSD", "2022-11-15 13:45:10", "sell", "limit", "1", "1..0", "0", "1",
                      "0", "", ""]],
     "row 2, column cost: not a number: '1..0'"),
])
def test_it_names_the_row_and_column_of_a_malformed_value(rows, message):
    assert refused(csv_bytes(rows)) == message


def test_it_refuses_a_file_over_the_size_limit():
    assert refused(b"x" * (MAX_FILE_BYTES + 1)) == "the file is larger than 20 MB"


def test_it_refuses_more_rows_than_the_limit_and_reads_up_to_it():
    header = ",".join(BINANCE_TRANSACTIONS).encode() + b"\n"
    deposit = b"1001,2022-11-15 13:00:00,Spot,Deposit,BTC,1,\n"

    assert parse(header + deposit * (MAX_ROWS - 1)).rows == MAX_ROWS - 1
    assert refused(header + deposit * MAX_ROWS) == "the file has more than 200,000 rows"


def test_it_refuses_a_row_with_too_many_columns_but_ignores_trailing_separators():
    row = ["2022-11-15 13:45:10", "BTCUSDT", "BUY", "1", "0.5BTC", "1USDT", "0"]

    assert parse(csv_bytes([BINANCE_TRADES, row + [""] * 100])).rows == 1
    assert refused(csv_bytes([BINANCE_TRADES, row + ["x"] * 58])) == "row 2: more than 64 columns"


@pytest.mark.parametrize("length", [10_001, 200_000])
def test_it_refuses_a_field_longer_than_the_limit(length):
    row = ["2022-11-15 13:45:10", "BTCUSDT", "BUY", "1", "0.5BTC", "1USDT", "0", "n" * length]

    assert "longer than 10,000 characters" in refused(csv_bytes([BINANCE_TRADES, row]))


def test_it_reads_windows_1252_text_and_refuses_bytes_that_are_neither_with_advice():
    # Before the shared reader, any non-UTF-8 byte was refused; old Excel saves cp1252, which is now read.
    row = ["2022-11-15 13:45:10", "BTCUSDT", "BUY", "1", "0.5BTC", "1USDT", "0"]
    cp1252 = csv_bytes([[*BINANCE_TRADES, "Note"], [*row, "é"]]).replace("é".encode(), b"\xe9")
    broken = cp1252.replace(b"\xe9", b"\x81")

    assert parse(cp1252).trades == [trade("2022-11-15 13:45:10", "BTC/USDT", "buy", "0.5", "1")]
    assert refused(broken) == ("line 2: byte 0x81 is neither UTF-8 nor Windows-1252 text; "
                               "save the file as CSV (UTF-8)")


def test_it_refuses_utf16_text_and_old_xls_workbooks_with_advice():
    utf16 = codecs.BOM_UTF16_LE + ",".join(BINANCE_TRADES).encode("utf-16-le")

    assert "UTF-16" in refused(utf16)
    assert "old Excel .xls" in refused(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "trades.xls")


def test_it_refuses_control_characters_in_a_field():
    row = ["2022-11-15 13:45:10", "BTCUSDT", "BUY", "1", "0.5BTC", "1USDT", "0\x00"]

    assert refused(csv_bytes([BINANCE_TRADES, row])) == "row 2, column 7: contains control characters"


def test_it_names_the_expected_formats_for_an_unknown_file():
    message = refused(csv_bytes([["date", "symbol", "usd"], ["2022-11-15", "BTC", "20000"]]))

    assert message.startswith("not a known trade-history export")
    for expected in ("binance_trades: Date(UTC),Pair,Side,Price,Executed,Amount,Fee",
                     "binance_classic_trades: Date(UTC),Market,Type,Price,Amount,Total,Fee,Fee Coin",
                     "binance_transactions: User_ID,UTC_Time", "coinbase: Timestamp,",
                     "coinbase_2021: Timestamp,", "coinbase_2023: ID,Timestamp,",
                     "kraken_ledgers: txid,refid",
                     "kraken_trades: txid,ordertxid", "kucoin_trades_2021: tradeCreatedAt,"):
        assert expected in message


def test_it_refuses_a_zip_bomb_disguised_as_a_workbook():
    bomb = zip_bomb(60)
    assert len(bomb) < 1024 * 1024

    assert "possible zip bomb" in refused(bomb, "trades.xlsx")


def test_it_refuses_a_zip_that_expands_too_much_for_its_size():
    assert "possible zip bomb" in refused(zip_bomb(20), "trades.xlsx")


@pytest.mark.parametrize(("name", "declared_mb"), [
    ("xl/worksheets/sheet1.xml", 170), ("xl/sharedStrings.xml", 70),
])
def test_it_refuses_a_workbook_whose_parts_would_expand_past_the_limits(name, declared_mb):
    # Stored, not compressed: only the declared size is over a limit, not the compression ratio.
    assert "possible zip bomb" in refused(zip_declaring(name, declared_mb=declared_mb, stored_mb=2), "t.xlsx")


@pytest.mark.parametrize("data", [b"PK\x03\x04 damaged", plain_zip()])
def test_it_refuses_a_zip_that_is_not_a_workbook(data):
    assert refused(data, "trades.xlsx").startswith("not a readable XLSX workbook")


def test_a_trade_far_from_the_days_price_off_the_attack_pair_fails_the_export():
    export = parse(csv_bytes([
        BINANCE_TRADES,
        ["2022-11-15 13:45:10", "BTCUSDT", "SELL", "2000", "0.5BTC", "1000USDT", "0"],  # BTC was 20,000
        ["2022-11-15 13:46:00", "XYZUSDT", "BUY", "2", "5000XYZ", "10000USDT", "0"],
    ]))
    loss = trade_loss(trades=export.trades, window_start=START, window_end=END, prices=PRICES)

    findings = trade_checks(export=export, loss=loss, signature=others_signature(), claimed_amount_usd=None,
                            tolerance=Decimal("0.25"))

    assert checks_of(findings)["trade_loss_consistent"] == ("fail", ["price_off_market"])
    assert [(o["row"], o["against"]) for o in findings.outcomes[1].raw["off_market"]] == [(2, "day_price")]


@pytest.mark.parametrize(("price", "outcome"), [("2", "pass"), ("1.1", "pass"), ("9", "fail")])
def test_an_attack_pair_trade_passes_at_the_other_victims_price_or_the_days_but_not_at_a_fantasy_one(
    price, outcome
):
    amount = str(Decimal("5000") * Decimal(price))
    row = ["2022-11-15 13:46:00", "XYZUSDT", "BUY", price, "5000XYZ", f"{amount}USDT", "0"]
    export = parse(csv_bytes([BINANCE_TRADES, row]))
    loss = trade_loss(trades=export.trades, window_start=START, window_end=END, prices=PRICES)

    findings = trade_checks(export=export, loss=loss, signature=others_signature(), claimed_amount_usd=None,
                            tolerance=Decimal("0.25"))

    assert findings.outcomes[1].outcome == outcome
