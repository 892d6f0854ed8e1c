"""Writers of trade-history export files as exchanges produce them: CSV, XLSX, and a zip bomb."""

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

# What Coinbase writes above the header (the first line unquoted, commas and all).
COINBASE_OLDER_PREAMBLE = (
    "You can use this transaction report to inform your likely tax obligations. For US customers, Sells, "
    "Converts, and Rewards Income, and Coinbase Earn transactions are taxable events. For final tax "
    "obligations, please consult your tax advisor.\r\n\r\n\r\nTransactions\r\n"
    "User,victim@example.com,5f2b9c0e1d3a4b5c6d7e8f90\r\n\r\n"
)
COINBASE_NEWER_PREAMBLE = ",,,,,,,,,,\r\nTransactions\r\nUser,Jane Victim,5f2b9c0e1d3a4b5c6d7e8f90\r\n"


def csv_bytes(rows: list[list[str]], *, delimiter: str = ",", bom: bool = False, preamble: str = "",
              quoting: int = csv.QUOTE_MINIMAL) -> bytes:
    """Write rows as UTF-8 CSV, optionally behind a BOM and a preamble."""
    out = io.StringIO(newline="")
    out.write(preamble)
    csv.writer(out, delimiter=delimiter, quoting=quoting).writerows(rows)
    return (codecs.BOM_UTF8 if bom else b"") + out.getvalue().encode("utf-8")


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
