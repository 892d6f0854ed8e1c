"""What `import_reports` stores for a sheet of varied rows stays exactly what it stored before.

The expected rows (import_stored_rows.json) were recorded from the import before it was made
faster (issue 14); every field of every report and claim, every bad row and every emptied cell is
compared, on SQLite (bulk_create) and on PostgreSQL (COPY). Regenerate the file only for a change
that means to store something else: LOSSPROOF_RECORD_IMPORT=1 pytest this file.
"""

import csv
import json
import os
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from incidents.models import Claim, IncidentChain, Report
from tests.factories import ExchangeFactory, IncidentFactory

pytestmark = pytest.mark.django_db

EXPECTED = Path(__file__).with_name("import_stored_rows.json")
ETHEREUM = "eip155:1"
BITCOIN = "bip122:000000000019d6689c085ae165831e93"
HEADER = ["reporter", "contact_email", "exchange", "claimed_loss_usd", "loss_date", "chain", "victim_address",
          "tx_hashes", "support_ticket_id", "police_report", "notes", "exchange_email"]
SEED = "abandon ability able about above absent absorb abstract absurd abuse access accident"
# Each column's readable variants; row n takes variant n * step % len of each, so rows mix them.
VARIANTS = {
    "reporter": ["Ana Silva", "  José Müller ", "", "Zoë\u00a0Ng", "李小龙", "O'Brien, Pat"],
    "contact_email": ["Ana@Example.org", "", "victim@sub.example.co.uk", " bo@example.org "],
    "exchange": ["binance", "Kraken", "", "BINANCE "],
    "claimed_loss_usd": ["1,234.50", "$1234", "US$ 99.999", "1.234,50", "1e3", "", "0.005", "12,5", "1,234",
                         "USD 7", ".5", "1 000,25", "0", "999999999999.995"],
    "loss_date": ["2022-11-15", "15/11/2022", "2022-11-15T10:00:00Z", "", "15.11.2022",
                  "2022-11-15 10:00:00+02:00", "1/2/2023"],
    "chain": [ETHEREUM, BITCOIN, "", " eip155:1 "],
    "victim_address": ["0x" + "11" * 20, "0x52908400098527886E0F7030069857D2E4169EE7", "",
                       "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "0x" + "ab" * 20],
    "tx_hashes": ["0x{h}", "0X{H}", "https://etherscan.io/tx/0x{h}#eventlog", "0x{h}; 0x{g}", "",
                  "{h}", "etherscan.io/tx/0x{h}", "0x{h}, 0x{h}", "0x{h}\n0x{g}"],
    "support_ticket_id": ["12345678", "Ticket #12345678", "", " 87654321 "],
    "police_report": ["", "PR-2022/11/4411", "password: hunter22"],
    "notes": ["", "drained overnight", SEED, "secret key = Abcd1234Efgh5678", "line one\nline two",
              "cost me 5 000 €", "API key 3fQk9ZpL2mXv8RtY6wNb1HcJ4sDgA7eU", "tab\there"],
    "exchange_email": ["", "Desk@Example.net", ""],
}
# Every third row has one column replaced by one of these (the column and value turn with the row).
BAD = {
    "reporter": ["x" * 201, "Bo\x01Chen"],
    "contact_email": ["not-an-email"],
    "exchange": ["Nope"],
    "claimed_loss_usd": ["-5", "abc", "1e18", "1,2,3"],
    "loss_date": ["31/02/2022", "Nov 15", "2022-13-01"],
    "chain": ["eip155:56", "EIP155:1", "bitcoin"],
    "victim_address": ["0x12", "0xABCDEFabcdef" + "0" * 28],
    "tx_hashes": ["https://etherscan.io/address/0x12", "0x12", "0x{h}zz"],
    "support_ticket_id": ["T-1"],
    "police_report": ["y" * 501],
    "exchange_email": ["binance account"],
}
STEPS = {"reporter": 1, "contact_email": 3, "exchange": 1, "claimed_loss_usd": 5, "loss_date": 3, "chain": 1,
         "victim_address": 3, "tx_hashes": 2, "support_ticket_id": 3, "police_report": 1, "notes": 3,
         "exchange_email": 1}
ROWS = 150
# What a spreadsheet program stores as numbers and dates rather than text.
TYPED = {"1e3": 1000.0, "0.005": 0.005, "0": 0, "12345678": 12345678, "2022-11-15": date(2022, 11, 15),
         "2022-11-15T10:00:00Z": datetime(2022, 11, 15, 10, 0), "999999999999.995": 999999999999.995}
MICROSECOND = timedelta(microseconds=1)
SKIPPED = ("id", "incident", "report_ref", "report_ref_key", "created_at", "updated_at", "submitted_at",
           "check_queued_until", "check_attempts")


def sheet_rows() -> list[list[str]]:
    rows = []
    for n in range(ROWS):
        cells = {column: values[n * STEPS[column] % len(values)] for column, values in VARIANTS.items()}
        if n % 3 == 0:
            column = list(BAD)[n // 3 % len(BAD)]
            cells[column] = BAD[column][n // 3 % len(BAD[column])]
        hashes = {"h": f"{n + 1:064x}", "H": f"{n + 1:064X}", "g": f"{n + 7:064x}"}
        cells["tx_hashes"] = cells["tx_hashes"].format(**hashes)
        if cells["chain"] == BITCOIN:
            cells["tx_hashes"] = cells["tx_hashes"].replace("0x", "").replace("0X", "")
            cells["victim_address"] = "" if n % 2 else "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
        if n % 10 == 0:
            cells["contact_email"] = f"victim{n}@example.org"  # some rows unique in every column
        rows.append([cells[column] for column in HEADER])
    return [*rows, rows[4], rows[40]]  # repeats further down: imported once


@pytest.fixture
def incident():
    incident = IncidentFactory(slug="stored-rows")
    for caip2 in (ETHEREUM, BITCOIN):
        IncidentChain.objects.create(incident=incident, caip2=caip2, confirmations=6)
    ExchangeFactory(incident=incident, name="Binance")
    ExchangeFactory(incident=incident, name="Kraken", ticket_id_regex="")
    return incident


def write(path: Path, rows: list[list[str]]) -> Path:
    if path.suffix == ".xlsx":
        book = openpyxl.Workbook()
        book.active.append(HEADER)
        for cells in rows:
            book.active.append([TYPED.get(cell, cell.replace("\x01", "")) for cell in cells])
        book.save(path)
        return path
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    return path


def imported(path: Path, *args: str) -> dict:
    out, err = StringIO(), StringIO()
    try:
        call_command("import_reports", str(path), "--incident", "stored-rows", *args, stdout=out, stderr=err)
    except CommandError as exc:
        err.write(f"CommandError {exc.returncode}: {exc}")
    progress = "import: "  # its rate differs from run to run
    return {"out": [line for line in out.getvalue().splitlines() if not line.startswith(progress)],
            "err": err.getvalue().splitlines(), "stored": stored()}


def stored() -> list[dict]:
    reports = list(Report.objects.order_by("source_row").select_related("exchange")
                   .prefetch_related("claims"))
    first = reports[0].submitted_at if reports else None
    return [{**_fields(report, Report), "submitted_after_us": (report.submitted_at - first) // MICROSECOND,
             "claims": [_fields(claim, Claim) for claim in sorted(report.claims.all(), key=lambda c: c.pk)]}
            for report in reports]


def _fields(row, model) -> dict:
    skip = (*SKIPPED, "report")
    values = {field.attname: _plain(getattr(row, field.attname)) for field in model._meta.concrete_fields
              if field.name not in skip}
    return values | {"exchange_id": row.exchange and row.exchange.name}  # ids differ between databases


def _plain(value):
    if isinstance(value, Decimal):
        return f"Decimal({value})"
    return value if value is None or isinstance(value, bool | int | str | list | dict) else str(value)


def expected(name: str, got: dict) -> dict:
    """Return the recorded result of ``name``; record ``got`` first when asked to."""
    recorded = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
    if os.environ.get("LOSSPROOF_RECORD_IMPORT"):
        recorded[name] = got
        EXPECTED.write_text(json.dumps(recorded, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    return recorded[name]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_varied_sheet_is_stored_exactly_as_before(incident, tmp_path, suffix):
    got = imported(write(tmp_path / f"victims{suffix}", sheet_rows()))

    assert got == expected(f"sheet{suffix}", got)
    assert len(got["stored"]) > 20 and any(line.startswith("row ") for line in got["err"])


def test_a_strict_import_of_the_varied_sheet_stores_nothing_and_lists_the_same_rows(incident, tmp_path):
    got = imported(write(tmp_path / "victims.csv", sheet_rows()), "--strict")

    assert got == expected("strict", got)
    assert got["stored"] == []


def test_importing_the_varied_sheet_again_stores_nothing_more(incident, tmp_path):
    path = write(tmp_path / "victims.csv", sheet_rows())
    first = imported(path)

    again = imported(path)

    assert again["stored"] == first["stored"]
    assert again == expected("again", again)
