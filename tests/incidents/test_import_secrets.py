"""`import_reports` refuses secrets as the form and the API do, without losing the old sheet's rows."""

import random
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from incidents.models import Claim, Report
from tests.incidents.test_import_reports import (
    EVM_TX,
    incident,  # noqa: F401 (the fixture every test uses)
    row,
    write_csv,
    write_xlsx,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("incident")]

RNG = random.Random(17)
SEED = "legal winner thank year wave sausage worth useful legal winner thank yellow"


def api_secret() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(RNG.choice(alphabet) for _ in range(64))


def run_import(path, *args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("import_reports", str(path), "--incident", "api-key-leak-2022", *args, stdout=out,
                 stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("writer", [write_csv, write_xlsx])
def test_a_seed_phrase_in_the_notes_is_emptied_and_the_row_kept(tmp_path, writer):
    sheet = writer(tmp_path / f"sheet.{'csv' if writer is write_csv else 'xlsx'}",
                   [row(notes=f"my words: {SEED}")])

    out, err = run_import(sheet)

    report = Report.objects.get()
    assert report.notes == "" and report.reporter_name == "Ana Silva"
    assert "row 2: notes: emptied, looked like a secret" in out
    assert "sausage" not in out + err


def test_every_free_text_cell_meets_the_field_rules(tmp_path):
    key, secret = RNG.randbytes(32).hex(), api_secret()
    sheet = write_csv(tmp_path / "sheet.csv", [row(police_report=f"ref {key}", reporter=secret,
                                                    notes="password: Hunter2!x")])

    out, _ = run_import(sheet)

    report = Report.objects.get()
    assert (report.police_report, report.reporter_name, report.notes) == ("", "", "")
    for column in ("reporter", "police_report", "notes"):
        assert f"row 2: {column}: emptied, looked like a secret" in out
    assert key not in out and secret not in out and "Hunter2" not in out


def test_a_tx_hash_in_its_own_column_is_a_hash_never_a_secret(tmp_path):
    link = "https://etherscan.io/tx/0x" + "cd" * 32
    sheet = write_csv(tmp_path / "sheet.csv", [row(tx_hashes=f"{EVM_TX}; {link}")])

    out, _ = run_import(sheet)

    assert "emptied" not in out
    assert sorted(Claim.objects.values_list("tx_hash", flat=True)) == [EVM_TX, "0x" + "cd" * 32]


def test_a_private_key_pasted_in_the_tx_hashes_column_beside_a_hash_empties_the_cell(tmp_path):
    sheet = write_csv(tmp_path / "sheet.csv", [row(tx_hashes=f"{EVM_TX} my key {SEED}")])

    out, err = run_import(sheet)

    assert "row 2: tx_hashes: emptied, looked like a secret" in out
    assert Report.objects.count() == 1 and not Claim.objects.exists()
    assert "sausage" not in out + err


def test_a_secret_in_the_victim_address_cell_is_emptied_not_echoed(tmp_path):
    key = "0x" + RNG.randbytes(32).hex()
    sheet = write_csv(tmp_path / "sheet.csv", [row(victim_address=key)])

    out, err = run_import(sheet)

    assert "row 2: victim_address: emptied, looked like a secret" in out
    assert key[2:] not in out + err
    assert Claim.objects.get().from_address == ""


def test_a_ticket_id_is_read_in_the_exchange_format_as_the_form_reads_it(tmp_path):
    sheet = write_csv(tmp_path / "sheet.csv", [row(support_ticket_id="Ticket #87654321"),
                                              row(contact_email="b@example.org", tx_hashes="0x" + "01" * 32,
                                                  support_ticket_id="call me maybe")])

    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_reports", str(sheet), "--incident", "api-key-leak-2022", stdout=StringIO(),
                     stderr=err)

    assert Report.objects.get().support_ticket_id == "87654321"
    assert "row 3: support_ticket_id: This is not a ticket id in Binance's format" in err.getvalue()


def test_reimporting_a_sheet_with_an_emptied_cell_creates_nothing_new(tmp_path):
    sheet = write_csv(tmp_path / "sheet.csv", [row(notes=SEED)])
    run_import(sheet)

    out, _ = run_import(sheet)

    assert Report.objects.count() == 1 and "1 already present" in out


def test_an_evidence_file_holding_a_secret_is_left_out_and_the_row_kept(tmp_path):
    (tmp_path / "keys.csv").write_text(f"Date(UTC),Note\n2022-11-20,{RNG.randbytes(32).hex()}\n")
    (tmp_path / "trades.csv").write_text("Date(UTC),Pair,Side\n2022-11-20,PUMPUSDT,BUY\n")
    sheet = write_csv(tmp_path / "sheet.csv", [row(evidence_files="keys.csv; trades.csv")])

    out, _ = run_import(sheet)

    assert "row 2: evidence_files: 'keys.csv' left out, looked like a secret" in out
    assert list(Report.objects.get().evidence.values_list("original_name", flat=True)) == ["trades.csv"]
