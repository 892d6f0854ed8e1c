"""The report page shows a trade export's rows as read, and says what to do with a refused file."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Role
from incidents.models import ReportStatus, Tier
from incidents.services import evidence_attach
from tests.factories import ExchangeFactory, ReportFactory, UserFactory
from tests.verification.trade_files import BINANCE_TRANSACTIONS, csv_bytes
from verification.evidence import evidence_verify
from verification.models import Price

pytestmark = pytest.mark.django_db


@pytest.fixture
def reporter():
    return UserFactory(role=Role.REPORTER)


@pytest.fixture
def report(reporter):
    exchange = ExchangeFactory(name="Binance")
    return ReportFactory(reporter=reporter, incident=exchange.incident, exchange=exchange,
                         status=ReportStatus.NEEDS_REVIEW, tier=Tier.T1)


@pytest.fixture
def owner(client, reporter):
    client.force_login(reporter)
    return client


def page_after_checking(owner, report, data: bytes) -> str:
    evidence = evidence_attach(report=report, kind="trade_export", data=data, original_name="history.csv")
    evidence_verify(evidence_id=evidence.pk)
    return owner.get(reverse("incidents:report-detail", args=[report.pk])).content.decode()


def test_the_reporter_sees_which_rows_were_trades_which_were_skipped_and_which_are_in_the_window(
    owner, report
):
    Price.objects.create(symbol="PUMP", date=date(2022, 11, 20), usd=Decimal("0.01"))
    Price.objects.create(symbol="BNB", date=date(2022, 11, 20), usd=Decimal("300"))
    data = csv_bytes([
        BINANCE_TRANSACTIONS,
        ["1001", "2022-10-01 09:00:00", "Spot", "Transaction Sold", "BTC", "-0.1", ""],
        ["1001", "2022-10-01 09:00:00", "Spot", "Transaction Revenue", "USDT", "2000", ""],
        ["1001", "2022-11-20 14:05:00", "Spot", "Transaction Spend", "USDT", "-10000", ""],
        ["1001", "2022-11-20 14:05:00", "Spot", "Transaction Buy", "PUMP", "20000", ""],
        ["1001", "2022-11-20 14:05:00", "Spot", "Transaction Fee", "BNB", "-0.01", ""],
        ["1001", "2022-11-20 15:00:00", "Spot", "Withdraw", "PUMP", "-20000", ""],
    ])

    page = page_after_checking(owner, report, data)

    assert "2 trades read, 1 inside the incident window." in page and "1 row skipped." in page
    assert "<td>2-3</td><td>2022-10-01T09:00:00+00:00</td><td>BTC/USDT</td><td>sell</td><td>no</td>" in page
    assert "<td>4-6</td><td>2022-11-20T14:05:00+00:00</td><td>PUMP/USDT</td><td>buy</td><td>yes</td>" in page
    assert "<td>7</td><td>not a trade</td><td>Withdraw</td>" in page
    assert "it proves the loss only once other victims&#x27; exports show the same pairs" in page


def test_a_refused_export_says_what_to_do_and_lists_the_layouts_lossproof_reads(owner, report):
    page = page_after_checking(owner, report, b"when,what\n2022-11-20 14:05:00,something\n")

    assert "Download one of the reports listed below from your exchange" in page
    assert "<code>Date(UTC),Market,Type,Price,Amount,Total,Fee,Fee Coin</code>" in page
    assert "Orders &gt; Spot Order &gt; Trade History" in page


def test_a_file_in_neither_utf8_nor_windows_1252_is_refused_with_how_to_resave_it(owner, report):
    data = ",".join(BINANCE_TRANSACTIONS).encode() + b"\n1001,2022-11-20 14:05:00,Spot,Deposit,\x81,1,\n"

    page = page_after_checking(owner, report, data)

    assert "save it again as “CSV UTF-8”" in page


def test_an_upload_refused_as_a_trade_export_shows_the_layouts_lossproof_reads(owner, report):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("history.pdf", b"%PDF-1.7\n" + b"0" * 100, content_type="application/pdf")
    response = owner.post(reverse("incidents:report-evidence-add", args=[report.pk]),
                          {"kind": "trade_export", "file": upload})

    page = response.content.decode()
    assert response.status_code == 400 and "cannot be added as" in page
    assert "The trade-history reports Lossproof reads" in page
    header = "tradeCreatedAt,orderId,symbol,side,price,size,funds,fee,liquidity,feeCurrency,orderType"
    assert f"<code>{header}</code>" in page
