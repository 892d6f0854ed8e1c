"""Upload attacks (docs/threat-model.md): refused with a clear message, nothing stored, or made harmless."""

import hashlib
import io
import struct
import zlib

import pytest
from django.test import RequestFactory
from PIL import ExifTags, Image, PngImagePlugin

from incidents.images import image_preview
from incidents.models import Evidence, Report
from incidents.secrets import SecretRefused
from incidents.services import EvidenceFileError, EvidenceTooLarge, evidence_attach, evidence_check_upload
from incidents.uploads import upload_too_large
from tests.conftest import stored_names
from tests.factories import ReportFactory

pytestmark = pytest.mark.django_db

CSV = (b"Date(UTC),Pair,Side,Price,Executed,Amount,Fee\n"
       b"2022-11-20 14:05:00,PUMPUSDT,BUY,0.5,20000PUMP,10000USDT,10USDT\n")
SEED = "legal winner thank year wave sausage worth useful legal winner thank yellow"


@pytest.fixture
def report():
    return ReportFactory()


def stored_files(storage) -> list[str]:
    return stored_names(storage)


def csv_of(size: int, tag: str = "") -> bytes:
    head = f"Date(UTC),Pair,Side{tag}\n".encode()
    return head + b"2022-11-20,PUMPUSDT,BUY\n" * ((size - len(head)) // 24 + 1)


def png(size=(40, 30), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, format="PNG", **save)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # "rotate 90° clockwise to display"
    exif[ExifTags.Base.Make] = "VictimPhone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 29.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 21.0, 8.0)
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 200)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A few hundred bytes whose header claims a picture of width x height pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * (width * 3 + 1) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def assert_nothing_stored(private_evidence_storage):
    assert not Evidence.objects.exists()
    assert stored_files(private_evidence_storage) == []


def test_an_oversized_file_is_refused_with_413_and_nothing_is_stored(report, settings,
                                                                    private_evidence_storage):
    settings.EVIDENCE_MAX_BYTES = 1024

    with pytest.raises(EvidenceTooLarge, match="too large") as caught:
        evidence_attach(report=report, kind="trade_export", data=csv_of(1025))

    assert caught.value.status == 413
    assert_nothing_stored(private_evidence_storage)


def test_one_file_more_than_a_report_may_hold_is_refused(report, settings, private_evidence_storage):
    settings.EVIDENCE_MAX_FILES = 2
    for tag in "ab":
        evidence_attach(report=report, kind="trade_export", data=csv_of(100, tag))

    with pytest.raises(EvidenceTooLarge, match="already has 2 files"):
        evidence_attach(report=report, kind="trade_export", data=csv_of(100, "c"))

    assert report.evidence.count() == 2 and len(stored_files(private_evidence_storage)) == 2


def test_a_file_that_would_exceed_the_report_quota_is_refused(report, settings, private_evidence_storage):
    settings.EVIDENCE_MAX_REPORT_BYTES = 4096
    evidence_attach(report=report, kind="trade_export", data=csv_of(3000, "a"))

    with pytest.raises(EvidenceTooLarge, match="in total"):
        evidence_attach(report=report, kind="trade_export", data=csv_of(1500, "b"))

    assert report.evidence.count() == 1 and len(stored_files(private_evidence_storage)) == 1


def test_the_quota_counts_only_the_reports_own_files(report, settings):
    settings.EVIDENCE_MAX_REPORT_BYTES = 4096
    evidence_attach(report=ReportFactory(), kind="trade_export", data=csv_of(3000, "a"))

    evidence_attach(report=report, kind="trade_export", data=csv_of(3000, "a"))

    assert report.evidence.count() == 1


@pytest.mark.parametrize(("kind", "data", "message"), [
    ("screenshot", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 64, "cannot be added as “Screenshot”"),
    ("screenshot", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64, "cannot be added as “Screenshot”"),
    ("screenshot", b"<html><body><script>alert(document.cookie)</script></body></html>",
     "Lossproof does not accept"),
    ("other", b"<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
     "Lossproof does not accept"),
    ("screenshot", b"GIF89a\x01\x00\x01\x00<script>alert(1)</script>", "cannot be added as"),
    ("other", b"GIF89a/*,*/=1;alert(1);", "cannot be added as"),
    ("trade_export", b"#!/bin/sh\nrm -rf ~,;\n", "cannot be added as"),
    ("screenshot", b"\x89PNG\r\n\x1a\n" + b"not really a picture" * 10, "cannot be read"),
    ("screenshot", b"\xff\xd8\xff\xe0" + b"\x00" * 40, "cannot be read"),
])
def test_content_that_is_not_what_its_name_says_is_refused_and_nothing_is_stored(
        report, private_evidence_storage, kind, data, message):
    with pytest.raises(EvidenceFileError, match=message) as caught:
        evidence_attach(report=report, kind=kind, data=data, original_name="holiday.jpg")

    assert caught.value.status == 400
    assert_nothing_stored(private_evidence_storage)


@pytest.mark.parametrize(("name", "shown"), [
    ("../../../etc/passwd", "passwd"),
    ("..\\..\\windows\\evil.csv", "evil.csv"),
    ("trades\x00.csv\r\n\x1b[31m", "trades.csv[31m"),
    ("C:/Users/victim/" + "x" * 300 + ".csv", "x" * 200),
])
def test_the_stored_name_is_generated_and_the_display_name_cleaned(report, private_evidence_storage,
                                                                   name, shown):
    evidence = evidence_attach(report=report, kind="trade_export", data=CSV, original_name=name)

    assert evidence.file.name == f"{report.pk}/{hashlib.sha256(CSV).hexdigest()}"
    assert evidence.original_name == shown
    assert stored_files(private_evidence_storage) == [evidence.file.name]


def test_a_photo_with_gps_is_stored_byte_exact_and_previewed_without_metadata(report):
    photo = jpeg_with_gps()
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    evidence = evidence_attach(report=report, kind="screenshot", data=photo, original_name="IMG_0001.jpg")

    with evidence.file.open("rb") as stored:
        assert hashlib.sha256(stored.read()).hexdigest() == hashlib.sha256(photo).hexdigest()
    preview = Image.open(io.BytesIO(image_preview(photo)))
    assert preview.format == "PNG" and not preview.getexif() and "exif" not in preview.info
    assert preview.size == (30, 40)  # turned upright as the EXIF orientation said


def test_a_png_with_text_chunks_is_previewed_without_them(report):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at 48.8566,2.3522")
    info.add_itxt("Author", "Victim Name")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "VictimPhone"
    original = png(pnginfo=info, exif=exif)

    evidence = evidence_attach(report=report, kind="screenshot", data=original)

    preview_bytes = image_preview(original)
    preview = Image.open(io.BytesIO(preview_bytes))
    assert preview.info == {} and not preview.getexif()
    assert b"48.8566" not in preview_bytes and b"VictimPhone" not in preview_bytes
    assert evidence.size == len(original)


def test_a_decompression_bomb_is_refused_before_it_is_decoded(report, private_evidence_storage):
    bomb = png_declaring(100_000, 100_000)
    assert len(bomb) < 2000

    with pytest.raises(EvidenceFileError, match="pixels"):
        evidence_attach(report=report, kind="screenshot", data=bomb)
    with pytest.raises(EvidenceFileError, match="pixels"):
        image_preview(bomb)

    assert_nothing_stored(private_evidence_storage)


def test_an_image_over_the_pixel_limit_is_refused(settings):
    settings.IMAGE_MAX_PIXELS = 1000

    with pytest.raises(EvidenceFileError, match="1,000 pixels"):
        evidence_check_upload(kind="screenshot", data=png((40, 30)), existing_count=0, existing_bytes=0)


def test_a_file_holding_a_seed_phrase_is_refused_and_nothing_is_stored(report, private_evidence_storage):
    data = CSV + f"note,{SEED}\n".encode()

    with pytest.raises(SecretRefused, match="seed phrase") as caught:
        evidence_attach(report=report, kind="trade_export", data=data)

    assert SEED.split()[5] not in str(caught.value)
    assert_nothing_stored(private_evidence_storage)


def test_checking_an_upload_returns_the_type_found_in_its_content():
    checked = evidence_check_upload(kind="other", data=png(), existing_count=0, existing_bytes=0)

    assert checked == "image/png"


@pytest.mark.parametrize(("length", "too_large"), [
    (None, False), ("", False), ("garbage", False), ("1000", False), ("1024", False), ("400000", True),
])
def test_a_request_body_larger_than_one_upload_is_told_apart_before_reading_it(settings, length, too_large):
    settings.EVIDENCE_MAX_BYTES = 100_000
    request = RequestFactory().post("/upload/", data=b"", content_type="application/octet-stream")
    if length is None:
        request.META.pop("CONTENT_LENGTH", None)
    else:
        request.META["CONTENT_LENGTH"] = length

    assert upload_too_large(request) is too_large


def test_a_real_multipart_upload_of_a_file_at_the_limit_is_not_too_large(settings):
    settings.EVIDENCE_MAX_BYTES = 100_000
    upload = io.BytesIO(csv_of(100_000)[:100_000])
    upload.name = "trades.csv"
    request = RequestFactory().post("/upload/", data={"kind": "trade_export", "file": upload})

    assert not upload_too_large(request)


def test_an_upload_that_loses_the_race_against_a_withdrawal_stores_nothing(private_evidence_storage):
    from incidents.services import report_withdraw
    from incidents.uploads import OwnerGone

    report = ReportFactory()
    stale = Report.objects.get(pk=report.pk)  # what the upload view loaded before the erasure
    report_withdraw(report=report)

    with pytest.raises(OwnerGone):
        evidence_attach(report=stale, kind="screenshot", data=png())

    assert not Evidence.objects.exists()
    assert stored_files(private_evidence_storage) == []  # not one file was written
