"""The register's files: DESIGN's columns to the letter, pseudonyms, neutralised text, no private data."""

import hashlib
import hmac
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
from odf.opendocument import load as load_ods
from odf.table import Table, TableCell, TableRow

from registry import exports
from registry.exports import CLAIM_HEADER, REPORT_HEADER, report_ref
from registry.methodology import CLAIM_COLUMNS, REPORT_COLUMNS
from registry.services import register_export
from tests.registry.conftest import CANARY_EMAIL, CANARY_NAME, TX_A, read_csv

pytestmark = pytest.mark.django_db

DESIGN_REPORTS = ("report_ref,source,exchange,claimed_loss_usd,verified_loss_usd,tier,status,flags,"
                  "evidence_kinds,transfers_claimed,transfers_verified,ticket_status,decided_at,"
                  "decision_reason,resolved_flags,police_report_cited")
DESIGN_CLAIMS = ("report_ref,kind,chain,tx_hash,log_index,asset,amount,from_address,to_address,"
                 "block_number,block_time,usd_value,status,reasons,period_start,period_end")


def export(world, folder: Path) -> Path:
    register_export(incident=world.incident, folder=folder)
    return folder


def ods_tables(path: Path) -> dict[str, list[list[str]]]:
    """Read an .ods back with odfpy (an independent parser): sheet name -> rows of cell texts."""
    document = load_ods(str(path))
    return {table.getAttribute("name"): [[str(cell) for cell in row.getElementsByType(TableCell)]
                                         for row in table.getElementsByType(TableRow)]
            for table in document.spreadsheet.getElementsByType(Table)}


def test_report_ref_is_16_hex_digits_of_the_keyed_hmac(signing_key):
    expected = hmac.new(b"test-report-ref-key", b"report:42", hashlib.sha256).hexdigest()[:16]

    assert report_ref(42) == expected
    assert report_ref(43) != expected


def test_reports_csv_has_designs_columns_and_one_row_per_report_in_sheet_order(world, tmp_path):
    rows = read_csv(export(world, tmp_path / "out") / "reports.csv")

    assert ",".join(rows[0]) == DESIGN_REPORTS
    assert rows[1:] == [
        [report_ref(world.verified.pk), "web", "Binance", "1500.00", "1234.50", "T3", "verified",
         "claim_exceeds_proof;mail_forged;tx_not_found", "support_email;trade_export", "2", "1",
         "dkim_verified", "2022-11-18T10:00:00Z", "proof_sufficient", "mail_forged", "no"],
        [report_ref(world.imported.pk), "victims.csv:7", "", "", "0.00", "T1", "needs_review", "",
         "support_email", "2", "0", "dkim_invalid", "", "", "", "no"],
        [report_ref(world.canary.pk), "web", "Binance", "1000.00", "0.00", "T0", "submitted", "", "", "0",
         "0", "attested", "", "", "", "yes"],
    ]


def test_claims_csv_has_designs_columns_and_one_row_per_claim(world, tmp_path):
    rows = read_csv(export(world, tmp_path / "out") / "claims.csv")
    verified, imported = report_ref(world.verified.pk), report_ref(world.imported.pk)

    assert ",".join(rows[0]) == DESIGN_CLAIMS
    assert rows[1] == [verified, "transfer", "eip155:31337", TX_A, "3", "ETH", "0.5", "0x" + "11" * 20,
                       "0x" + "22" * 20, "16000000", "2022-11-15T10:00:00Z", "1234.50", "verified", "",
                       "", ""]
    assert rows[3] == [verified, "trade_loss", *[""] * 10, "unchecked", "", "", ""]
    assert rows[4][0] == imported and rows[4][6] == "2.000001"
    assert rows[4][12:] == ["mismatch", "amount_mismatch;sender_mismatch", "", ""]
    assert len(rows) == 1 + 5


def test_withdrawn_reports_and_their_claims_are_absent(world, tmp_path):
    folder = export(world, tmp_path / "out")
    gone = report_ref(world.withdrawn.pk)

    assert gone not in (folder / "reports.csv").read_text()
    assert gone not in (folder / "claims.csv").read_text()
    assert "c3c3c3" not in (folder / "claims.csv").read_text()


def test_text_that_looks_like_a_formula_is_neutralised_in_the_csv(world, tmp_path):
    rows = read_csv(export(world, tmp_path / "out") / "claims.csv")
    hostile = [row for row in rows if row[0] == report_ref(world.imported.pk)]

    assert [row[5] for row in hostile] == ["'=1+2", "'\tTAB"]
    assert [row[7] for row in hostile] == ["'@SUM(1+1)", "'-2+3"]
    assert [row[8] for row in hostile] == ["'=HYPERLINK(\"http://evil.example\",\"x\")",
                                           "'+cmd|' /C calc'!A0"]


def test_the_xlsx_holds_the_same_rows_as_text_never_formulas_and_numbers_as_numbers(world, tmp_path):
    book = openpyxl.load_workbook(export(world, tmp_path / "out") / "register.xlsx")

    assert book.sheetnames == ["reports", "claims", "methodology"]
    reports = list(book["reports"].iter_rows(values_only=True))
    claims = list(book["claims"].iter_rows(values_only=True))
    assert list(reports[0]) == REPORT_HEADER and list(claims[0]) == CLAIM_HEADER
    assert reports[1][3:5] == (1500.0, 1234.5) and reports[1][9:11] == (2, 1)
    assert reports[2][3] is None
    assert [row[5] for row in claims[4:]] == ["'=1+2", "'\tTAB"]
    assert claims[4][8] == "'=HYPERLINK(\"http://evil.example\",\"x\")"
    assert all(cell.data_type != "f" for sheet in book for row in sheet.iter_rows() for cell in row)


def test_the_ods_is_a_valid_document_with_the_same_rows(world, tmp_path):
    folder = export(world, tmp_path / "out")
    tables = ods_tables(folder / "register.ods")

    assert list(tables) == ["reports", "claims", "methodology"]
    assert tables["reports"] == read_csv(folder / "reports.csv")
    assert tables["claims"] == read_csv(folder / "claims.csv")
    with zipfile.ZipFile(folder / "register.ods") as archive:
        assert archive.infolist()[0].filename == "mimetype"
        assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"


def test_a_table_longer_than_a_sheet_continues_on_the_next_sheet(world, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "SHEET_MAX_ROWS", 3)  # header + 2 rows per sheet
    folder = export(world, tmp_path / "out")
    book = openpyxl.load_workbook(folder / "register.xlsx")

    assert book.sheetnames[:4] == ["reports", "reports 2", "claims", "claims 2"]
    assert [len(list(book[name].iter_rows())) for name in ("claims", "claims 2", "claims 3")] == [3, 3, 2]
    assert list(ods_tables(folder / "register.ods"))[:4] == ["reports", "reports 2", "claims", "claims 2"]


def test_no_name_email_or_account_appears_in_any_exported_file(world, tmp_path):
    folder = export(world, tmp_path / "out")
    needles = [CANARY_EMAIL, CANARY_NAME, "Canary", "canary", "12345678", "person"]

    for path in folder.iterdir():
        for name, content in contents(path):
            for needle in needles:
                assert needle.encode() not in content, f"{needle!r} found in {name}"


def contents(path: Path) -> list[tuple[str, bytes]]:
    """Return the bytes to search: a file's own, and every member of a zip (xlsx, ods) unpacked."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return [(f"{path.name}:{info.filename}", archive.read(info)) for info in archive.infolist()]
    return [(path.name, path.read_bytes())]


def test_report_refs_are_the_same_in_two_exports(world, tmp_path):
    first = read_csv(export(world, tmp_path / "one") / "reports.csv")
    second = read_csv(export(world, tmp_path / "two") / "reports.csv")

    assert [row[0] for row in first] == [row[0] for row in second]
    assert first[1][0] != str(world.verified.pk)


def test_the_manifest_is_canonical_and_lists_every_file_with_its_digest(world, tmp_path):
    folder = export(world, tmp_path / "out")
    data = (folder / "manifest.json").read_bytes()
    manifest = json.loads(data)

    assert data == (json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()
    assert sorted(manifest["files"]) == ["changelog.json", "claims.csv", "methodology.md", "public_key.pem",
                                         "register.ods", "register.xlsx", "reports.csv"]
    assert all(manifest["files"][name] == exports.file_digest(folder / name) for name in manifest["files"])
    assert manifest["counts"] == {"reports": 3, "claims": 5}
    assert manifest["incident"] == {"slug": "api-key-leak-2022", "title": "Trading-bot API key leak"}
    assert manifest["release"] == "draft" and manifest["methodology_version"] == "2"
    assert manifest["software"]["name"] == "lossproof" and manifest["software"]["version"] != "unknown"
    assert manifest["created_at"].endswith("Z")


def test_the_methodology_explains_every_column_of_both_files(world, tmp_path):
    text = (export(world, tmp_path / "out") / "methodology.md").read_text()

    assert [name for name, _ in REPORT_COLUMNS] == REPORT_HEADER
    assert [name for name, _ in CLAIM_COLUMNS] == CLAIM_HEADER
    assert "Methodology version: 2" in text
    for word in ["T4", "claim_exceeds_proof", "outside_window", "recipient_safelisted", "dkim_invalid",
                 "tx_contested", "contested", "recipient_mismatch", "proof_sufficient"]:
        assert f"`{word}`" in text
