"""A published incident whose exchanges sit on both sides of the small-cell line, and helpers."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from incidents.models import Incident, ReportSource
from registry.models import Release
from registry.services import release_publish
from tests.factories import ClaimFactory, ExchangeFactory, IncidentFactory, ReportFactory
from tests.registry.conftest import signing_key  # noqa: F401 (a fixture)

CANARY_EXCHANGE = "Kanarienvogel Exchange"  # 4 reports: must never be named by any aggregate output
DAY = datetime(2022, 11, 15, 10, 0, tzinfo=UTC)


@dataclass
class Crowd:
    incident: Incident
    sizes: dict[str, int]


def add_reports(incident: Incident, exchange_name: str | None, count: int, *, asset: str = "ETH",
                day: datetime = DAY, tier: str = "T2", status: str = "needs_review",
                claimed: str = "1000", verified: str = "400", source: str = ReportSource.WEB) -> list:
    """Add ``count`` reports naming the exchange, each with one verified transfer of ``asset``."""
    exchange = None
    if exchange_name:
        exchange = incident.exchanges.filter(name=exchange_name).first() or ExchangeFactory(
            incident=incident, name=exchange_name)
    reports = []
    for n in range(count):
        extra = {"source_file": "victims.csv", "source_row": 1000 + incident.reports.count()} \
            if source == ReportSource.IMPORT else {}
        report = ReportFactory(incident=incident, exchange=exchange, tier=tier, status=status,
                               claimed_loss_usd=Decimal(claimed), verified_loss_usd=Decimal(verified),
                               source=source, submitted_at=day + timedelta(minutes=n), **extra)
        ClaimFactory(report=report, asset=asset, status="verified", block_time=day,
                     to_address="0x" + "ad" * 20, usd_value=Decimal(verified), block_number=100 + n)
        reports.append(report)
    return reports


@pytest.fixture
def crowd(db, signing_key) -> Crowd:  # noqa: F811
    incident = IncidentFactory(slug="leak", title="API key leak")
    sizes = {"Binance": 12, "Kraken": 6, "OKX": 5, CANARY_EXCHANGE: 4}
    for name, count in sizes.items():
        add_reports(incident, name, count)
    return Crowd(incident=incident, sizes=sizes)


def publish(incident: Incident) -> Release:
    """Publish the incident's next release, as an operator would."""
    return release_publish(incident=incident)
