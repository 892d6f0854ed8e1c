"""The preview's SQL sums give what the release's in-memory sums give, for the same facts."""

import random
from datetime import date

import pytest

from dashboards.models import ReportFact, ReportFlow
from dashboards.services import fact_rows
from dashboards.sums import sql_stats
from registry.stats import Fact, Filters, TooFewReports, stats_build
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

EXCHANGES = ("Binance", "Kraken", "OKX", "Canary", None)
ASSETS = ("ETH", "USDT", "WBTC", None)
ADDRESSES = ("0xa1", "0xa2", "0xa3", "0xa4")


def random_fact(rng: random.Random, exchange_weights: tuple[int, ...]) -> list:
    flows = [["eip155:1", rng.choice(ADDRESSES), f"{rng.randint(0, 5000)}.{rng.randint(0, 99):02d}"]
             for _ in range(rng.choice((0, 1, 1, 2)))]
    return list(Fact(
        source=rng.choice(("sheet", "web", "api")), exchange=rng.choices(EXCHANGES, exchange_weights)[0],
        tier=rng.choice(("T0", "T1", "T2", "T3", "T4")),
        status=rng.choice(("submitted", "checking", "needs_review", "verified", "rejected",
                           "partially_verified")),
        claimed=f"{rng.randint(0, 90000)}.{rng.randint(0, 99):02d}", verified=f"{rng.randint(0, 900)}.50",
        day=rng.choice(("2022-11-14", "2022-11-15", "2022-11-16", None)), asset=rng.choice(ASSETS),
        ticket_status=rng.choice(("none", "unverified", "dkim_verified", "attested", "denied")),
        ticket_cited=rng.random() < 0.5, police=rng.random() < 0.3, bound=rng.random() < 0.2,
        contested=rng.random() < 0.1, flows=flows))


def stored(incident, facts: list[list]) -> None:
    rows, flows = [], []
    for report_id, values in enumerate(facts, start=1):
        row, its_flows = fact_rows(incident=incident, report_id=report_id, values=values)
        rows.append(row)
        flows.extend(its_flows)
    ReportFact.objects.bulk_create(rows)
    ReportFlow.objects.bulk_create(flows)


FILTERS = [Filters(), Filters(min_tier="T2"), Filters(status="verified"), Filters(exchange="Binance"),
           Filters(asset="ETH"), Filters(source="sheet"), Filters(since=date(2022, 11, 15)),
           Filters(until=date(2022, 11, 15)), Filters(min_tier="T1", source="web", since=date(2022, 11, 14))]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("weights", [(20, 8, 5, 4, 3), (3, 4, 4, 2, 1), (40, 1, 1, 1, 0)])
def test_the_sql_sums_equal_the_register_sums_under_every_filter(seed, weights):
    rng = random.Random(seed)
    facts = [random_fact(rng, weights) for _ in range(rng.randint(8, 60))]
    incident = IncidentFactory()
    stored(incident, facts)

    for filters in FILTERS:
        try:
            expected = stats_build(facts=facts, as_of=None, release=None, filters=filters)
        except TooFewReports:
            with pytest.raises(TooFewReports):
                sql_stats(incident_id=incident.pk, as_of=None, release=None, filters=filters)
            continue
        assert sql_stats(incident_id=incident.pk, as_of=None, release=None, filters=filters) == expected


@pytest.mark.parametrize("size", [4, 5, 6])
def test_an_address_paid_twice_by_one_report_counts_it_once_and_folds_at_the_edge(size):
    facts = []
    for n in range(size):  # each report pays the small address twice, and the big one once
        flows = [["eip155:1", "0xsmall", "10.00"], ["eip155:1", "0xsmall", "5.00"],
                 ["eip155:1", "0xbig", "1.00"]]
        facts.append(list(Fact("web", "Binance", "T2", "needs_review", f"{100 + n}.00", "15.00", "2022-11-15",
                               "ETH", "none", False, False, False, False, flows)))
    facts += [list(Fact("web", "Binance", "T2", "needs_review", "1.00", "1.00", "2022-11-15", "ETH", "none",
                        False, False, False, False, [["eip155:1", "0xbig", "1.00"]])) for _ in range(6)]
    incident = IncidentFactory()
    stored(incident, facts)

    stats = sql_stats(incident_id=incident.pk, as_of=None, release=None)

    assert stats == stats_build(facts=facts, as_of=None, release=None)
    named = {row["address"]: (row["reports"], row["verified_loss_usd"])
             for row in stats["attacker_addresses"] if not row.get("other")}
    if size >= 5:
        assert named["0xsmall"] == (size, f"{15 * size}.00")
    else:
        assert "0xsmall" not in named
