"""Upload attacks through the report page, as a reporter would: bombs, hidden secrets, costly previews."""

import base64
import io
import random
import tracemalloc
import zipfile
from email.message import EmailMessage

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook
from PIL import ExifTags, Image

from incidents import images, xlsx_stream
from incidents.models import Evidence, EvidenceKind
from tests.conftest import stored_names
from tests.factories import ReportFactory, UserFactory
from tests.verification.dkim_fixtures import build_mail, rsa_key, sign
from verification import tasks

pytestmark = pytest.mark.django_db

RNG = random.Random(11)  # fixed, so a failure can be replayed
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@pytest.fixture
def reporter():
    return UserFactory()


@pytest.fixture
def report(reporter):
    return ReportFactory(reporter=reporter)


@pytest.fixture
def owner(client, reporter):
    client.force_login(reporter)
    return client


def add_evidence(owner, report, name: str, data: bytes, kind: str = EvidenceKind.TRADE_EXPORT):
    url = reverse("incidents:report-evidence-add", args=[report.pk])
    return owner.post(url, {"kind": kind, "file": SimpleUploadedFile(name, data)})


def stored_files(storage) -> list[str]:
    return stored_names(storage)  # through the storage API: a folder or a bucket


def hex64() -> str:
    return RNG.randbytes(32).hex()


def api_secret() -> str:
    return "".join(RNG.choice(ALNUM) for _ in range(64))


def xlsx(*rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_bomb(*, sheet_bytes: int) -> bytes:
    """Return a small XLSX whose one sheet inflates to ``sheet_bytes`` of repetitive XML."""
    book = zipfile.ZipFile(out := io.BytesIO(), "w", zipfile.ZIP_DEFLATED, compresslevel=9)
    book.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
    row = b'<row><c t="inlineStr"><is><t>hold</t></is></c></row>'
    head = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    with book.open("xl/worksheets/sheet1.xml", "w") as sheet:
        sheet.write(head)
        for _ in range(sheet_bytes // (len(row) * 1000)):
            sheet.write(row * 1000)
        sheet.write(b"</sheetData></worksheet>")
    book.close()
    return out.getvalue()


# --- bombs and budgets -----------------------------------------------------------------------------


def test_a_100_kb_xlsx_bomb_is_refused_without_inflating_it(owner, report, private_evidence_storage):
    bomb = xlsx_bomb(sheet_bytes=100 * 1024 * 1024)
    assert len(bomb) < 400 * 1024

    tracemalloc.start()
    try:
        response = add_evidence(owner, report, "trades.xlsx", bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert response.status_code == 400
    assert "zip bomb" in response.content.decode()
    assert peak < 32 * 1024 * 1024  # the web worker never held the inflated sheet
    assert not Evidence.objects.exists() and not stored_files(private_evidence_storage)


def test_a_workbook_over_the_byte_budget_is_refused_after_reading_only_the_budget(
        owner, report, monkeypatch, private_evidence_storage):
    rows = [["2022-11-20", f"PAIR{n}USDT", "BUY", n * 7919 % 10007] for n in range(4000)]
    data = xlsx(["Date(UTC)", "Pair", "Side", "Price"], *rows)
    monkeypatch.setattr(xlsx_stream, "MAX_SCANNED", 64 * 1024)

    response = add_evidence(owner, report, "trades.xlsx", data)

    assert response.status_code == 400
    assert "more data than Lossproof reads" in response.content.decode()
    assert not stored_files(private_evidence_storage)


def test_a_workbook_that_takes_too_long_to_read_is_refused(owner, report, monkeypatch,
                                                            private_evidence_storage):
    data = xlsx(["Date(UTC)", "Pair"], *[["2022-11-20", "PUMPUSDT"]] * 50)
    monkeypatch.setattr(xlsx_stream, "MAX_SECONDS", -1.0)

    response = add_evidence(owner, report, "trades.xlsx", data)

    assert response.status_code == 400
    assert "could not be checked in time" in response.content.decode()
    assert not stored_files(private_evidence_storage)


# --- secrets in files: the same shapes as in fields ------------------------------------------------


def test_a_csv_holding_a_raw_private_key_and_an_api_secret_is_refused(owner, report,
                                                                      private_evidence_storage):
    key, secret = hex64(), api_secret()
    data = (f"Date(UTC),Pair,Side,Price\n2022-11-20,PUMPUSDT,BUY,0.5\n"
            f"my wallet,{key},,\nbinance api,{secret},,\n").encode()

    response = add_evidence(owner, report, "trades.csv", data)

    page = response.content.decode()
    assert response.status_code == 400 and "private key" in page
    assert key not in page and secret not in page
    assert not Evidence.objects.exists() and not stored_files(private_evidence_storage)


def test_an_api_secret_alone_in_a_csv_is_refused(owner, report):
    secret = api_secret()

    response = add_evidence(owner, report, "trades.csv", f"Date(UTC),Note\n2022-11-20,{secret}\n".encode())

    assert response.status_code == 400 and "API secret" in response.content.decode()


def test_tx_hashes_in_the_txid_column_of_an_export_pass(owner, report):
    rows = "\n".join(f"2022-11-20 14:0{n}:00,Withdraw,ETH,-1.5,0x{hex64()},Completed" for n in range(9))
    data = f"Date(UTC),Operation,Coin,Change,TxID,Status\n{rows}\n".encode()

    assert add_evidence(owner, report, "withdrawals.csv", data).status_code == 302
    assert Evidence.objects.filter(report=report).count() == 1


def test_a_hash_in_a_link_to_the_transaction_passes(owner, report):
    data = f"Date(UTC),Link\n2022-11-20,https://etherscan.io/tx/0x{hex64()}\n".encode()

    assert add_evidence(owner, report, "links.csv", data).status_code == 302


def test_a_64_hex_value_outside_a_hash_column_is_refused_as_a_possible_key(owner, report):
    data = f"Date(UTC),TxID,Notes\n2022-11-20,0x{hex64()},{hex64()}\n".encode()

    response = add_evidence(owner, report, "withdrawals.csv", data)

    assert response.status_code == 400 and "private key" in response.content.decode()


def test_an_xlsx_gives_hashes_by_column_too(owner, report):
    good = xlsx(["Date(UTC)", "Coin", "TxHash"], *[["2022-11-20", "ETH", "0x" + hex64()] for _ in range(20)])
    bad = xlsx(["Date(UTC)", "Coin", "Notes"], ["2022-11-20", "ETH", hex64()])

    assert add_evidence(owner, report, "good.xlsx", good).status_code == 302
    response = add_evidence(owner, report, "bad.xlsx", bad)
    assert response.status_code == 400 and "private key" in response.content.decode()


def test_an_api_secret_in_an_xlsx_cell_is_refused(owner, report):
    data = xlsx(["Date(UTC)", "Pair", "Notes"], ["2022-11-20", "PUMPUSDT", api_secret()])

    response = add_evidence(owner, report, "trades.xlsx", data)

    assert response.status_code == 400 and "API secret" in response.content.decode()


def test_a_seed_phrase_written_one_word_per_row_of_an_xlsx_is_refused(owner, report):
    words = ["legal", "winner", "thank", "year", "wave", "sausage", "worth", "useful", "legal", "winner",
             "thank", "yellow"]
    filler = [["2022-11-20", "PUMPUSDT", n] for n in range(3000)]  # the phrase sits past the first batch
    data = xlsx(["Date(UTC)", "Pair", "Note"], *filler, *[[word] for word in words])

    response = add_evidence(owner, report, "trades.xlsx", data)

    assert response.status_code == 400 and "seed phrase" in response.content.decode()


# --- mails: signatures, PGP blocks, attachments and TxID lines pass; keys in the body do not -------


def mail_with(body: str, *, attachments=()) -> bytes:
    message = EmailMessage()
    message["From"] = "Binance <do-not-reply@binance.com>"
    message["To"] = "victim@example.org"
    message["Subject"] = "[Binance] Withdrawal Successful"
    message["Date"] = "Sun, 20 Nov 2022 15:00:00 +0000"
    message.set_content(body)
    for data, maintype, subtype in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=f"file.{subtype}")
    return sign(message.as_bytes().replace(b"\n", b"\r\n"), key=rsa_key("binance-2022"))


def add_mail(owner, report, data: bytes):
    return add_evidence(owner, report, "mail.eml", data, kind=EvidenceKind.SUPPORT_EMAIL)


def test_a_signed_withdrawal_mail_with_a_txid_line_passes(owner, report):
    body = (f"You have successfully withdrawn 1.5 ETH.\nAddress: 0x52908400098527886E0F7030069857D2E4169EE7\n"
            f"TxID: 0x{hex64()}\n")
    data = mail_with(body)
    assert b"DKIM-Signature" in data

    assert add_mail(owner, report, data).status_code == 302


def test_a_pgp_signed_mail_with_a_base64_attachment_passes(owner, report):
    armour = "\n".join(base64.b64encode(RNG.randbytes(48)).decode() for _ in range(8))
    body = ("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nYour ticket 12345678 is open.\n"
            f"-----BEGIN PGP SIGNATURE-----\n\n{armour}\n=Ab3x\n-----END PGP SIGNATURE-----\n")
    picture = io.BytesIO()
    Image.effect_noise((64, 64), 80).save(picture, format="PNG")
    data = mail_with(body, attachments=[(picture.getvalue(), "image", "png")])
    assert b"Content-Transfer-Encoding: base64" in data

    assert add_mail(owner, report, data).status_code == 302


def test_a_private_key_in_a_mail_body_is_refused(owner, report):
    key = hex64()

    response = add_mail(owner, report, mail_with(f"Hello, I forward my wallet key {key} as asked.\n"))

    assert response.status_code == 400 and "private key" in response.content.decode()


def test_an_api_secret_hidden_in_a_base64_text_attachment_is_refused(owner, report):
    secret = api_secret()
    notes = (f"api secret {secret}".encode(), "text", "plain")
    data = mail_with("See the attached notes.\n", attachments=[notes])
    assert secret.encode() not in data  # only its base64 form is in the raw bytes

    response = add_mail(owner, report, data)

    assert response.status_code == 400 and "API secret" in response.content.decode()


def test_an_ordinary_signed_support_mail_passes(owner, report):
    data = sign(build_mail(), key=rsa_key("binance-2022"))

    assert add_mail(owner, report, data).status_code == 302


# --- previews: rendered once, without EXIF, stored -------------------------------------------------


def add_screenshot(owner, report):
    return add_evidence(owner, report, "shot.jpg", jpeg_with_gps(), kind=EvidenceKind.SCREENSHOT)


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "VictimPhone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 29.0)
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def test_an_image_preview_is_rendered_once_by_the_worker_and_served_from_storage(owner, report, monkeypatch):
    assert add_screenshot(owner, report).status_code == 302
    evidence = Evidence.objects.get(report=report)
    assert not evidence.preview  # the upload's request decodes the image once, for its own checks
    tasks.verify_evidence_task(evidence.pk)  # what the worker runs once the upload is committed

    def decode_again(data):
        raise AssertionError("the preview was decoded again for a request")

    monkeypatch.setattr(images, "image_decode", decode_again)
    url = reverse("incidents:evidence-preview", args=[evidence.pk])
    first, second = owner.get(url), owner.get(url)

    assert first.status_code == second.status_code == 200
    assert first.content == second.content
    shown = Image.open(io.BytesIO(first.content))
    assert shown.format == "PNG" and shown.size == (40, 30)
    assert b"VictimPhone" not in first.content and not shown.getexif()


def test_a_preview_the_worker_has_not_made_yet_is_made_on_first_view_and_kept(owner, report, monkeypatch):
    assert add_screenshot(owner, report).status_code == 302
    evidence = Evidence.objects.get(report=report)
    url = reverse("incidents:evidence-preview", args=[evidence.pk])

    first = owner.get(url)
    monkeypatch.setattr(images, "image_decode", lambda data: pytest.fail("decoded twice"))
    second = owner.get(url)
    tasks.verify_evidence_task(evidence.pk)  # the worker, later, keeps the stored one

    assert first.status_code == second.status_code == 200 and first.content == second.content
    evidence.refresh_from_db()
    assert evidence.preview


def test_a_huge_image_gets_a_bounded_preview(owner, report):
    picture = io.BytesIO()
    Image.linear_gradient("L").resize((3000, 600)).save(picture, format="PNG")
    response = add_evidence(owner, report, "scan.png", picture.getvalue(), kind=EvidenceKind.SCREENSHOT)
    assert response.status_code == 302
    evidence = Evidence.objects.get(report=report)

    tasks.verify_evidence_task(evidence.pk)

    evidence.refresh_from_db()
    with evidence.preview.open("rb") as handle:
        assert Image.open(handle).size == (images.PREVIEW_MAX_SIDE, 512)


def test_withdrawing_a_report_erases_its_previews(owner, report, private_evidence_storage,
                                                  django_capture_on_commit_callbacks):
    assert add_screenshot(owner, report).status_code == 302
    tasks.verify_evidence_task(Evidence.objects.get(report=report).pk)
    assert len(stored_files(private_evidence_storage)) == 2  # the original and its preview

    with django_capture_on_commit_callbacks(execute=True):
        owner.post(reverse("incidents:report-withdraw", args=[report.pk]), {"confirm": "on"})

    assert not Evidence.objects.exists()
    assert not stored_files(private_evidence_storage)
