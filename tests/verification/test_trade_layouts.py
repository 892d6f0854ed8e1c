"""Every exchange layout of the 2022 leak, read into canonical trades.

The files are written by the tests from the column lists named in tests/verification/trade_files.py
(each header there names its source); Bybit's has none and is listed as unverified in the README.
"""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from tests.verification.trade_files import (
    BINANCE_CLASSIC,
    BINANCE_ORDERS,
    BINANCE_TRANSACTIONS,
    BYBIT_SPOT,
    COINBASE_2021,
    COINBASE_NEWER,
    COINBASE_NEWER_PREAMBLE,
    COINBASE_OLDER_PREAMBLE,
    COINBASE_PRO_ACCOUNT,
    COINBASE_PRO_FILLS,
    FTX_TRADES,
    FTX_TRADES_API,
    KRAKEN_LEDGERS,
    KRAKEN_TRADES,
    KUCOIN_ORDERS_2020,
    KUCOIN_ORDERS_2023,
    KUCOIN_TRADES_2021,
    KUCOIN_TRADES_2023,
    OKX_TRADES,
    csv_bytes,
    xlsx_bytes,
)
from verification.checks.trades import (
    Trade,
    TradeFileError,
    parse_export,
    signature_keys,
    trade_loss,
)

START = datetime(2022, 11, 15, tzinfo=UTC)
END = datetime(2022, 11, 16, 23, 59, 59, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def trade(time: str, pair: str, side: str, base: str, quote: str, fees: str = "", rows=(2,)) -> Trade:
    """A canonical trade the short way: fees as "0.01 BNB; 2 USDT"."""
    base_asset, quote_asset = pair.split("/")
    legs = [part.strip().split(" ") for part in fees.split(";") if part.strip()]
    return Trade(time=at(time), pair=pair, side=side, base_asset=base_asset, base_amount=Decimal(base),
                 quote_asset=quote_asset, quote_amount=Decimal(quote),
                 fees=tuple(sorted((asset, Decimal(amount)) for amount, asset in legs)), row=min(rows),
                 rows=tuple(rows))


def parse(data: bytes, name: str = "export.csv"):
    return parse_export(data, filename=name)


def refused(data: bytes) -> TradeFileError:
    with pytest.raises(TradeFileError) as caught:
        parse(data)
    return caught.value


# ---- Binance ----------------------------------------------------------------------------------


def test_it_reads_the_classic_binance_trade_history_of_2022():
    data = csv_bytes([
        BINANCE_CLASSIC,
        ["2022-11-15 13:45:10", "BTCUSDT", "SELL", "20000", "0.5", "10000", "10", "USDT"],
        ["2022-11-15 13:46:00", "PUMPBUSD", "BUY", "0.5", "20000", "10000", "0.01", "BNB"],
    ])

    export = parse(data)

    assert (export.format, export.rows) == ("binance_classic_trades", 2)
    assert export.trades == [trade("2022-11-15 13:45:10", "BTC/USDT", "sell", "0.5", "10000", "10 USDT"),
                             trade("2022-11-15 13:46:00", "PUMP/BUSD", "buy", "20000", "10000", "0.01 BNB",
                                   rows=(3,))]


def test_it_reads_the_classic_binance_trade_history_as_the_xlsx_binance_served_in_2022():
    rows = [BINANCE_CLASSIC,
            ["2022-11-15 13:46:00", "PUMPBUSD", "BUY", 0.5, 20000.0, 10000.0, 0.01, "BNB"],
            [datetime(2022, 11, 15, 13, 47), "PUMPBUSD", "SELL", 0.25, 100, 25, 0.025, "BUSD"]]

    export = parse(xlsx_bytes(rows), "Export Recent Trade History.xlsx")

    assert export.trades == [
        trade("2022-11-15 13:46:00", "PUMP/BUSD", "buy", "20000", "10000", "0.01 BNB"),
        trade("2022-11-15 13:47:00", "PUMP/BUSD", "sell", "100", "25", "0.025 BUSD", rows=(3,)),
    ]


def test_it_merges_fills_of_one_order_in_one_second_and_keeps_other_seconds_apart():
    data = csv_bytes([
        BINANCE_CLASSIC,
        ["2022-11-15 13:46:00", "PUMPUSDT", "BUY", "0.5", "12000", "6000", "6", "USDT"],
        ["2022-11-15 13:46:00", "PUMPUSDT", "BUY", "0.5", "8000", "4000", "0.01", "BNB"],
        ["2022-11-15 13:46:01", "PUMPUSDT", "BUY", "0.5", "100", "50", "0.05", "USDT"],
    ])

    export = parse(data)

    assert export.trades == [
        trade("2022-11-15 13:46:00", "PUMP/USDT", "buy", "20000", "10000", "0.01 BNB; 6 USDT", rows=(2, 3)),
        trade("2022-11-15 13:46:01", "PUMP/USDT", "buy", "100", "50", "0.05 USDT", rows=(4,)),
    ]


def test_it_reads_the_binance_spot_order_history_with_its_fill_rows_and_unfilled_orders():
    data = csv_bytes([
        BINANCE_ORDERS,
        ["2022-11-15 13:46:00", "509120020", "PUMPUSDT", "MARKET", "BUY", "0", "20000", "0.5", "20000",
         "10000", "", "FILLED"],
        ["", "Date(UTC)", "Trading Price", "Filled", "Total", "Fee"],
        ["", "2022-11-15 13:46:00", "0.5", "20000", "10000", "0.01BNB"],
        ["2022-11-15 13:50:00", "509120021", "PUMPUSDT", "LIMIT", "SELL", "0.6", "100", "0", "0", "0", "",
         "CANCELED"],
    ])

    export = parse(data)

    assert export.format == "binance_spot_orders"
    assert export.trades == [trade("2022-11-15 13:46:00", "PUMP/USDT", "buy", "20000", "10000", "0.01 BNB")]
    assert [(s.row, s.reason) for s in export.skipped_rows] == [(3, "order_detail"), (4, "order_detail"),
                                                                (5, "not_filled")]


def test_it_keeps_every_fee_leg_of_a_binance_transaction_paid_in_two_assets():
    # Fees in the traded coin and in BNB were skipped as "several_fee_assets"; the trade is plain.
    data = csv_bytes([
        BINANCE_TRANSACTIONS,
        ["1001", "2022-11-15 13:46:00", "Spot", "Transaction Buy", "PUMP", "20000", ""],
        ["1001", "2022-11-15 13:46:00", "Spot", "Transaction Spend", "USDT", "-10000", ""],
        ["1001", "2022-11-15 13:46:00", "Spot", "Transaction Fee", "PUMP", "-20", ""],
        ["1001", "2022-11-15 13:46:00", "Spot", "Transaction Fee", "BNB", "-0.01", ""],
    ])
    prices = {("PUMP", date(2022, 11, 15)): Decimal("0.01"), ("BNB", date(2022, 11, 15)): Decimal("300")}

    export = parse(data)
    loss = trade_loss(trades=export.trades, window_start=START, window_end=END, prices=prices)

    assert export.skipped == []
    assert export.trades == [trade("2022-11-15 13:46:00", "PUMP/USDT", "buy", "20000", "10000",
                                   "0.01 BNB; 20 PUMP", rows=(2, 3, 4, 5))]
    assert (loss.valued[0].fee_usd, loss.loss_usd) == (Decimal("3.20"), Decimal("9803.20"))


def test_groups_that_do_not_pair_stay_listed_and_their_legs_count_in_the_loss():
    data = csv_bytes([
        BINANCE_TRANSACTIONS,
        ["1001", "2022-11-15 13:46:00", "Spot", "Transaction Spend", "USDT", "-10000", ""],
        ["1001", "2022-11-15 13:46:00", "Spot", "Transaction Buy", "PUMP", "10000", ""],
        ["1001", "2022-11-15 13:46:00", "Spot", "Transaction Buy", "DUMP", "10000", ""],
    ])
    prices = {("PUMP", date(2022, 11, 15)): Decimal("0.01"), ("DUMP", date(2022, 11, 15)): Decimal("0.02")}

    export = parse(data)
    loss = trade_loss(trades=export.trades, window_start=START, window_end=END, prices=prices,
                      unpaired=export.skipped)

    assert export.trades == [] and [s.rows for s in export.skipped] == [(2, 3, 4)]
    assert (loss.given_usd, loss.received_usd, loss.loss_usd) == (
        Decimal("10000.00"), Decimal("300.00"), Decimal("9700.00"))


# ---- KuCoin -----------------------------------------------------------------------------------


def test_it_reads_the_kucoin_trade_history_of_2021_22_in_utc_plus_8():
    data = csv_bytes([
        KUCOIN_TRADES_2021,
        ["2022-11-15 21:46:00", "6373a1", "PUMP-USDT", "buy", "0.5", "20000", "10000", "10", "taker", "USDT",
         "market"],
    ])

    export = parse(data)

    assert export.format == "kucoin_trades_2021"
    assert export.trades == [trade("2022-11-15 13:46:00", "PUMP/USDT", "buy", "20000", "10000", "10 USDT")]


def test_it_reads_the_kucoin_order_history_of_2020_21_with_the_fee_in_the_quote():
    data = csv_bytes([
        KUCOIN_ORDERS_2020,
        ["5f1", "PUMP-BTC", "0.00001", "0.2", "20000", "0.0002", "BUY", "2022-11-15 21:46:00"],
    ])

    export = parse(data)

    assert export.trades == [trade("2022-11-15 13:46:00", "PUMP/BTC", "buy", "20000", "0.2", "0.0002 BTC")]


def test_it_reads_the_kucoin_trade_history_of_2023_in_the_zone_its_header_names():
    header = [*KUCOIN_TRADES_2023]
    header[header.index("Filled Time(UTC+08:00)")] = "Filled Time(UTC)"
    row = ["123", "mainAccount", "6373a1", "PUMP-USDT", "BUY", "MARKET", "0.5", "20000", "10000", "10000",
           "2022-11-15 13:46:00", "10", "", "TAKER", "USDT"]

    in_utc = parse(csv_bytes([header, row]))
    in_utc_plus_8 = parse(csv_bytes([KUCOIN_TRADES_2023, row]))

    assert in_utc.format == in_utc_plus_8.format == "kucoin_trades_2023"
    assert in_utc.trades[0].time == at("2022-11-15 13:46:00")
    assert in_utc_plus_8.trades[0].time == at("2022-11-15 05:46:00")


def test_it_reads_the_kucoin_order_history_of_2023_from_an_xlsx_workbook_with_typed_cells():
    done = ["123", "mainAccount", "6373a1", datetime(2022, 11, 15, 21, 45, 59), "PUMP-USDT", "BUY", "MARKET",
            0, 20000, 0.5, 20000, 10000, 10000, datetime(2022, 11, 15, 21, 46), 10, "USDT", None, "DONE"]
    cancelled = ["123", "mainAccount", "6373a2", datetime(2022, 11, 15, 21, 50), "PUMP-USDT", "SELL", "LIMIT",
                 0.6, 100, 0, 0, 0, 0, None, 0, "USDT", None, "CANCELED"]

    export = parse(xlsx_bytes([KUCOIN_ORDERS_2023, done, cancelled]), "orders.xlsx")

    assert export.format == "kucoin_orders_2023"
    assert export.trades == [trade("2022-11-15 13:46:00", "PUMP/USDT", "buy", "20000", "10000", "10 USDT")]
    assert [(s.row, s.reason, s.detail) for s in export.skipped_rows] == [(3, "not_filled", "CANCELED")]


# ---- Coinbase and Coinbase Pro ------------------------------------------------------------------


def test_it_reads_the_2021_22_coinbase_report_with_advance_trade_rows_and_lists_the_rest():
    # "Advance Trade Buy" rows were dropped silently (neither a trade nor listed as skipped).
    data = csv_bytes([
        COINBASE_2021,
        ["2022-11-15T13:46:00Z", "Advance Trade Buy", "PUMP", "20000", "USD", "0.5", "10000.00", "10060.00",
         "60.00", "Bought 20000 PUMP for 10000 USD on PUMP-USD at 0.5 USD/PUMP"],
        ["2022-11-15T14:00:00Z", "Send", "PUMP", "20000", "USD", "0.01", "", "", "", "Sent to 0xabc"],
    ], preamble=COINBASE_OLDER_PREAMBLE, bom=True)

    export = parse(data)

    assert export.format == "coinbase_2021"
    assert export.trades == [trade("2022-11-15 13:46:00", "PUMP/USD", "buy", "20000", "10000.00", "60.00 USD",
                                   rows=(8,))]
    assert [(s.row, s.reason, s.detail) for s in export.skipped_rows] == [(9, "not_a_trade", "Send")]


def test_a_coinbase_advanced_trade_between_two_crypto_assets_is_recorded_against_the_crypto_quote():
    data = csv_bytes([
        COINBASE_NEWER,
        ["65a1", "2022-11-15 13:46:00 UTC", "Advanced Trade Buy", "ETH", "2", "USD", "$1,250.00", "$2,500.00",
         "$2,515.00", "$15.00", "Bought 2 ETH for 0.125 BTC on ETH-BTC at 0.0625 BTC/ETH"],
    ], preamble=COINBASE_NEWER_PREAMBLE)

    export = parse(data)

    assert export.trades == [trade("2022-11-15 13:46:00", "ETH/BTC", "buy", "2", "0.125", "15.00 USD",
                                   rows=(5,))]


def test_it_reads_the_coinbase_pro_fills_report_with_fees_outside_the_totals():
    data = csv_bytes([
        COINBASE_PRO_FILLS,
        ["default", "101", "PUMP-USD", "BUY", "2022-11-15T13:46:00.123Z", "20000", "PUMP", "0.5", "50",
         "-10050", "USD"],
        ["default", "102", "BTC-USD", "SELL", "2022-11-15T13:40:00Z", "0.5", "BTC", "20000", "50", "9950",
         "USD"],
    ])

    export = parse(data)

    assert export.format == "coinbase_pro_fills"
    assert export.trades == [
        trade("2022-11-15 13:46:00.123000", "PUMP/USD", "buy", "20000", "10000", "50 USD"),
        trade("2022-11-15 13:40:00", "BTC/USD", "sell", "0.5", "10000", "50 USD", rows=(3,)),
    ]


def test_it_reads_the_coinbase_pro_account_statement_grouped_by_trade_id():
    data = csv_bytes([
        COINBASE_PRO_ACCOUNT,
        ["default", "deposit", "2022-11-15T12:00:00Z", "10050", "10050", "USD", "t1", "", ""],
        ["default", "match", "2022-11-15T13:46:00Z", "-10000", "50", "USD", "", "101", "o1"],
        ["default", "match", "2022-11-15T13:46:00Z", "20000", "20000", "PUMP", "", "101", "o1"],
        ["default", "fee", "2022-11-15T13:46:00Z", "-50", "0", "USD", "", "101", "o1"],
    ])

    export = parse(data)

    assert export.trades == [trade("2022-11-15 13:46:00", "PUMP/USD", "buy", "20000", "10000", "50 USD",
                                   rows=(3, 4, 5))]
    assert [(s.row, s.detail) for s in export.skipped_rows] == [(2, "deposit")]


# ---- Kraken, OKX, Bybit, FTX --------------------------------------------------------------------


def test_a_kraken_ledger_and_trades_file_of_the_same_trade_give_one_pair_and_side():
    # The ledger said "GBP/USDT sell" and the trades file "USDT/GBP buy": victims never matched.
    ledger = csv_bytes([
        KRAKEN_LEDGERS,
        ["L1", "R1", "2022-11-15 13:46:00", "trade", "", "currency", "ZGBP", "-1000", "1.5", "0"],
        ["L2", "R1", "2022-11-15 13:46:00", "trade", "", "currency", "USDT", "1150", "1.7", "1150"],
    ])
    trades = csv_bytes([
        KRAKEN_TRADES,
        ["T1", "O1", "USDTGBP", "2022-11-15 13:46:00", "buy", "market", "0.8696", "1000", "1.5", "1150", "0",
         "", "L1,L2"],
    ])

    from_ledger, from_trades = parse(ledger).trades, parse(trades).trades

    assert [(t.pair, t.side, t.base_amount, t.quote_amount) for t in from_ledger] == [
        ("GBP/USDT", "sell", Decimal("1000"), Decimal("1150"))]
    assert [(t.pair, t.side, t.base_amount, t.quote_amount) for t in from_trades] == [
        ("GBP/USDT", "sell", Decimal("1000"), Decimal("1150"))]
    assert from_ledger[0].fees == (("GBP", Decimal("1.5")), ("USDT", Decimal("1.7")))  # fees on both legs
    assert signature_keys(from_ledger).keys() == signature_keys(from_trades).keys()


@pytest.mark.parametrize(("pair", "executed", "amount"), [
    ("ETH/BTC", "2ETH", "0.125BTC"), ("BTC/ETH", "0.125BTC", "2ETH")])
def test_a_pair_written_either_way_round_becomes_one_canonical_pair(pair, executed, amount):
    side = "BUY" if pair == "ETH/BTC" else "SELL"
    data = csv_bytes([["Date(UTC)", "Pair", "Side", "Price", "Executed", "Amount", "Fee"],
                      ["2022-11-15 13:46:00", pair, side, "0", executed, amount, "0"]])

    (only,) = parse(data).trades

    assert (only.pair, only.side, only.base_amount, only.quote_amount) == (
        "ETH/BTC", "buy", Decimal("2"), Decimal("0.125"))


def test_it_reads_okx_trade_history_legs_grouped_by_id_and_lists_transfers():
    data = csv_bytes([
        OKX_TRADES,
        ["9001", "o1", "2022-11-15 13:46:00", "Spot", "PUMP-USDT", "Buy", "20000", "PUMP", "0", "-20", "", "",
         "19980", "19980", "PUMP"],
        ["9001", "o1", "2022-11-15 13:46:00", "Spot", "PUMP-USDT", "Sell", "10000", "USDT", "0", "0", "", "",
         "-10000", "0", "USDT"],
        ["9002", "", "2022-11-15 14:00:00", "Transfer", "", "Transfer in", "5", "USDT", "", "", "", "", "5",
         "5", "USDT"],
    ])

    export = parse(data)

    assert export.format == "okx_trades"
    assert export.trades == [trade("2022-11-15 13:46:00", "PUMP/USDT", "buy", "20000", "10000", "20 PUMP",
                                   rows=(2, 3))]
    assert [(s.row, s.reason) for s in export.skipped_rows] == [(4, "not_spot")]


def test_it_reads_bybit_spot_trade_history_with_its_time_first_timestamps():
    data = csv_bytes([
        BYBIT_SPOT,
        ["PUMPUSDT", "MARKET", "BUY", "10000", "0.5", "20000", "20", "2200000000355", "53982208",
         "13:46 2022-11-15"],
    ])

    export = parse(data)

    assert export.trades == [trade("2022-11-15 13:46:00", "PUMP/USDT", "buy", "20000", "10000", "20 PUMP")]


@pytest.mark.parametrize("header", [FTX_TRADES, FTX_TRADES_API])
def test_it_reads_ftx_trades_in_both_spellings_and_lists_futures(header):
    data = csv_bytes([
        header,
        ["1", "2022-11-08T13:46:00.123+00:00", "PUMP/USD", "buy", "market", "20000", "0.5", "10000", "10",
         "USD"],
        ["2", "2022-11-08T13:47:00+00:00", "BTC-PERP", "sell", "market", "1", "19000", "19000", "5", "USD"],
        ["3", "2022-11-08T13:48:00+00:00", "FTT/USD", "sell", "limit", "10", "4", "40", "-0.01", "USD"],
    ])

    export = parse(data)

    assert export.trades == [
        trade("2022-11-08 13:46:00.123000", "PUMP/USD", "buy", "20000", "10000", "10 USD"),
        trade("2022-11-08 13:48:00", "FTT/USD", "sell", "10", "40", rows=(4,)),  # a rebate is no fee
    ]
    assert [(s.row, s.reason, s.detail) for s in export.skipped_rows] == [(3, "not_spot", "BTC-PERP")]


# ---- Bad input in the new layouts ---------------------------------------------------------------


def test_it_reads_a_windows_1252_coinbase_report_with_a_bom_less_euro_note():
    rows = [COINBASE_2021,
            ["2022-11-15T13:46:00Z", "Buy", "BTC", "0.5", "EUR", "19000", "9500", "9550", "50",
             "Bought 0.5 BTC for €9550"]]

    export = parse(csv_bytes(rows, encoding="cp1252"))

    assert export.trades == [trade("2022-11-15 13:46:00", "BTC/EUR", "buy", "0.5", "9500", "50 EUR")]


@pytest.mark.parametrize(("rows", "message"), [
    ([BINANCE_CLASSIC, ["2022-11-15 13:45:10", "BTCUSDT", "SELL", "20000", "0.5"]],
     "row 2, column Total: is empty"),
    ([KUCOIN_TRADES_2021, ["2022-11-15 21:46:00", "x", "PUMPUSDX", "buy", "0.5", "1", "1", "0", "taker",
                           "USDT", "market"]],
     "row 2, column symbol: not a pair of known quote: 'PUMPUSDX'"),
    ([FTX_TRADES, ["1", "next tuesday", "PUMP/USD", "buy", "market", "1", "1", "1", "0", "USD"]],
     "row 2, column Time: not a date and time: 'next tuesday'"),
])
def test_a_truncated_or_malformed_row_is_refused_naming_its_row_and_column(rows, message):
    error = refused(csv_bytes(rows))

    assert (str(error), error.code) == (message, "malformed_row")


def test_a_file_cut_inside_a_quoted_field_is_refused_as_unreadable_csv():
    data = csv_bytes([BINANCE_CLASSIC]) + b'2022-11-15 13:45:10,BTCUSDT,SELL,"20000'

    error = refused(data)

    assert str(error).startswith("row 2: not readable as CSV") and error.code == "csv"


def test_the_loss_of_the_layouts_window_ignores_trades_outside_it():
    data = csv_bytes([BINANCE_CLASSIC,
                      ["2022-11-14 23:59:59", "BTCUSDT", "SELL", "20000", "0.5", "10000", "10", "USDT"],
                      ["2022-11-15 00:00:00", "BTCUSDT", "SELL", "20000", "0.5", "10000", "10", "USDT"]])

    loss = trade_loss(trades=parse(data).trades, window_start=START, window_end=END,
                      prices={("BTC", date(2022, 11, 15)): Decimal("20000")})

    assert [t.row for t in loss.trades] == [3]
    assert START - timedelta(seconds=1) < loss.trades[0].time


def test_rows_of_garbage_under_any_known_header_are_refused_or_skipped_never_a_crash():
    import contextlib
    import random

    from verification.checks.trades.layouts import LAYOUTS

    pieces = ["", "0", "-1", "1e999", "1,5", "BUY", "sell", "BTC-USDT", "BTCUSDT", "PUMP/USD",
              "0001-01-01 00:00:00", "9999-12-31 23:59:59", "2022-11-15 13:46:00", "13:46 2022-11-15",
              "x" * 30, "€", "NaN", "Infinity", "Spot", "Buy", "match", "trade", "FILLED", "1.0BNB", "0.5BTC"]
    chance = random.Random(2022)
    for layout in LAYOUTS:
        for _ in range(40):
            row = [chance.choice(pieces) for _ in layout.columns]
            with contextlib.suppress(TradeFileError):
                parse(csv_bytes([layout.columns, row]))
