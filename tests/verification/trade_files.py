"""Writers of trade-history export files as exchanges produce them: CSV, XLSX, and a zip bomb.

Each header below names where its column list was checked (a public page or repository path);
the README's "Known trade-history layouts" lists the layouts whose columns no source confirmed.
"""

import codecs
import csv
import io
import os
import struct
import zipfile

import openpyxl

BINANCE_TRADES = ["Date(UTC)", "Pair", "Side", "Price", "Executed", "Amount", "Fee"]
BINANCE_TRANSACTIONS = ["User_ID", "UTC_Time", "Account", "Operation", "Coin", "Change", "Remark"]
COINBASE_OLDER = ["Timestamp", "Transaction Type", "Asset", "Quantity Transacted", "Spot Price Currency",
                  "Spot Price at Transaction", "Subtotal", "Total (inclusive of fees and/or spread)",
                  "Fees and/or Spread", "Notes"]
COINBASE_NEWER = ["ID", "Timestamp", "Transaction Type", "Asset", "Quantity Transacted", "Price Currency",
                  "Price at Transaction", "Subtotal", "Total (inclusive of fees and/or spread)",
                  "Fees and/or Spread", "Notes"]
KRAKEN_LEDGERS = ["txid", "refid", "time", "type", "subtype", "aclass", "asset", "amount", "fee", "balance"]
KRAKEN_TRADES = ["txid", "ordertxid", "pair", "time", "type", "ordertype", "price", "cost", "fee", "vol",
                 "margin", "misc", "ledgers"]

# github.com/everytrade-io/everytrade-plugins (Binance CsvHeader lists)
BINANCE_CLASSIC = ["Date(UTC)", "Market", "Type", "Price", "Amount", "Total", "Fee", "Fee Coin"]
BINANCE_ORDERS = ["Date(UTC)", "OrderNo", "Pair", "Type", "Side", "Order Price", "Order Amount",
                  "AvgTrading Price", "Filled", "Total", "Trigger Conditions", "status"]
# github.com/BittyTax/BittyTax src/bittytax/conv/parsers/kucoin.py
KUCOIN_TRADES_2021 = ["tradeCreatedAt", "orderId", "symbol", "side", "price", "size", "funds", "fee",
                      "liquidity", "feeCurrency", "orderType"]
KUCOIN_ORDERS_2020 = ["oid", "symbol", "dealPrice", "dealValue", "amount", "fee", "direction", "createdDate"]
KUCOIN_TRADES_2023 = ["UID", "Account Type", "Order ID", "Symbol", "Side", "Order Type", "Avg. Filled Price",
                      "Filled Amount", "Filled Volume", "Filled Volume (USDT)", "Filled Time(UTC+08:00)",
                      "Fee", "Tax", "Maker/Taker", "Fee Currency"]
KUCOIN_ORDERS_2023 = ["UID", "Account Type", "Order ID", "Order Time(UTC+08:00)", "Symbol", "Side",
                      "Order Type", "Order Price", "Order Amount", "Avg. Filled Price", "Filled Amount",
                      "Filled Volume", "Filled Volume (USDT)", "Filled Time(UTC+08:00)", "Fee",
                      "Fee Currency", "Tax", "Status"]
# github.com/BittyTax/BittyTax src/bittytax/conv/parsers/coinbase.py; datcsv/tez-tax functions/cb_import.R
COINBASE_2021 = ["Timestamp", "Transaction Type", "Asset", "Quantity Transacted", "Spot Price Currency",
                 "Spot Price at Transaction", "Subtotal", "Total (inclusive of fees)", "Fees", "Notes"]
# github.com/BittyTax/BittyTax src/bittytax/conv/parsers/coinbasepro.py
COINBASE_PRO_FILLS = ["portfolio", "trade id", "product", "side", "created at", "size", "size unit",
                      "price", "fee", "total", "price/fee/total unit"]
COINBASE_PRO_ACCOUNT = ["portfolio", "type", "time", "amount", "balance", "amount/balance unit",
                        "transfer id", "trade id", "order id"]
# github.com/BittyTax/BittyTax src/bittytax/conv/parsers/okx.py (the second "Unit" is the balance's)
OKX_TRADES = ["id", "Order id", "Time", "Trade Type", "Instrument", "Type", "Amount", "Unit", "PL", "Fee",
              "Position Change", "Position Balance", "Balance Change", "Balance", "Unit"]
# Unverified: seen in an unnamed public note only (listed as unverified in the README).
BYBIT_SPOT = ["Spot Pairs", "Order Type", "Direction", "Filled Value", "Filled Price", "Filled Quantity",
              "Fees", "Transaction ID", "Order No.", "Timestamp (UTC)"]
# github.com/BittyTax/BittyTax src/bittytax/conv/parsers/ftx.py
FTX_TRADES = ["ID", "Time", "Market", "Side", "Order Type", "Size", "Price", "Total", "Fee", "Fee Currency"]
FTX_TRADES_API = ["id", "time", "market", "side", "type", "size", "price", "total", "fee", "feeCurrency"]

# What Coinbase writes above the header (the first line unquoted, commas and all).
COINBASE_OLDER_PREAMBLE = (
    "You can use this transaction report to inform your likely tax obligations. For US customers, Sells, "
    "Converts, and Rewards Income, and Coinbase Earn transactions are taxable events. For final tax "
    "obligations, please consult your tax advisor.\r\n\r\n\r\nTransactions\r\n"
    "User,victim@example.com,5f2b9c0e1d3a4b5c6d7e8f90\r\n\r\n"
)
COINBASE_NEWER_PREAMBLE = ",,,,,,,,,,\r\nTransactions\r\nUser,Jane Victim,5f2b9c0e1d3a4b5c6d7e8f90\r\n"


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", bom: bool = False, preamble: str = "",
              quoting: int = csv.QUOTE_MINIMAL, encoding: str = "utf-8") -> bytes:
    """Write rows as CSV (UTF-8 unless told), optionally behind a BOM and a preamble."""
    out = io.StringIO(newline="")
    out.write(preamble)
    csv.writer(out, delimiter=delimiter, quoting=quoting).writerows(rows)
    return (codecs.BOM_UTF8 if bom else b"") + out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    """Write rows to the first sheet of a workbook, cells typed as given (text, numbers, datetimes)."""
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zip_bomb(unpacked_mb: int) -> bytes:
    """A zip named like a workbook whose one sheet is unpacked_mb of zeros (about 1 KB packed per MB)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = bytes(1024 * 1024)
            for _ in range(unpacked_mb):
                member.write(chunk)
    return out.getvalue()


def zip_declaring(name: str, *, declared_mb: int, stored_mb: int) -> bytes:
    """A workbook-like zip whose directory says one member unpacks to declared_mb (it holds stored_mb)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(name, os.urandom(stored_mb * 1024 * 1024))
    data = bytearray(out.getvalue())
    entry = data.rindex(b"PK\x01\x02")  # the last central-directory entry: the member just written
    struct.pack_into("<I", data, entry + 24, declared_mb * 1024 * 1024)  # its uncompressed size
    return bytes(data)


def plain_zip() -> bytes:
    """A well-formed zip that is not a workbook."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("notes.txt", "not a spreadsheet")
    return out.getvalue()
