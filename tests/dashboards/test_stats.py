"""The stats contract: sums, small-cell folding at its edges, and frozen releases."""

from decimal import Decimal

import pytest

from registry.stats import SMALL_CELL, Fact, Filters, TooFewReports, stats_build
from tests.dashboards.conftest import CANARY_EXCHANGE, add_reports, publish

pytestmark = pytest.mark.django_db

BREAKDOWNS = ("by_exchange", "by_asset", "by_day")


def fact(exchange: str | None, *, claimed: str = "100", verified: str = "40", asset: str = "ETH",
         day: str = "2022-11-15", tier: str = "T2", status: str = "needs_review",
         source: str = "web") -> list:
    return list(Fact(source=source, exchange=exchange, tier=tier, status=status, claimed=claimed,
                     verified=verified, day=day, asset=asset, ticket_status="none", ticket_cited=False,
                     police=False, bound=False, contested=False, flows=[["eip155:1", "0xad", verified]]))


def crowd_facts(sizes: dict[str, int]) -> list[list]:
    """Facts for exchanges of the given sizes, each exchange with its own claimed amount."""
    return [fact(name, claimed=str(100 * (i + 1))) for i, (name, n) in enumerate(sizes.items())
            for _ in range(n)]


def stats_of(sizes: dict[str, int], **kwargs) -> dict:
    return stats_build(facts=crowd_facts(sizes), as_of=None, release=1, **kwargs)


def named(rows: list[dict], key: str) -> dict[str, dict]:
    return {row[key]: row for row in rows if not row.get("other")}


def other(rows: list[dict]) -> dict | None:
    return next((row for row in rows if row.get("other")), None)


@pytest.mark.parametrize(("size", "shown"), [(4, False), (5, True), (6, True)])
def test_an_exchange_is_named_from_five_reports_on(size, shown):
    stats = stats_of({"Big": 20, "Edge": size, "Middle": 9})

    assert ("Edge" in named(stats["by_exchange"], "exchange")) is shown
    assert all(row["reports"] >= SMALL_CELL for row in stats["by_exchange"])


def test_a_lone_small_cell_takes_the_smallest_named_one_with_it_so_the_total_gives_nothing_away():
    stats = stats_of({"Big": 20, "Canary": 4, "Middle": 9, "Small": 5})

    rows = stats["by_exchange"]
    assert set(named(rows, "exchange")) == {"Big", "Middle"}
    folded = other(rows)
    assert folded["reports"] == 9  # Canary (4) + Small (5): the total minus named rows covers 9 reports
    # Canary's reports claim 200 each and Small's 400 each: only their sum is visible.
    assert Decimal(folded["claimed_loss_usd"]) == 4 * 200 + 5 * 400


def test_two_small_cells_fold_together_when_they_reach_five():
    stats = stats_of({"Big": 20, "A": 3, "B": 3})

    assert set(named(stats["by_exchange"], "exchange")) == {"Big"}
    assert other(stats["by_exchange"])["reports"] == 6


def test_every_breakdown_adds_up_to_the_totals_with_its_other_row():
    stats = stats_of({"Big": 20, "Canary": 4, "Middle": 9, None: 2})

    for key in BREAKDOWNS:
        rows = stats[key]
        assert sum(row["reports"] for row in rows) == stats["reports"]
        for money in ("claimed_loss_usd", "verified_loss_usd"):
            assert sum(Decimal(row[money]) for row in rows) == Decimal(stats[money])


def test_an_incident_with_fewer_than_five_reports_names_no_group():
    stats = stats_of({"Only": 3})

    for key in (*BREAKDOWNS, "attacker_addresses", "exchange_responses"):
        assert stats[key] == [] or [row.get("other") for row in stats[key]] == [True]


def test_folding_happens_at_the_edge_for_every_breakdown_and_address():
    facts = crowd_facts({"Big": 10})
    facts += [fact("Big", asset="RARE", day="2022-12-01") for _ in range(4)]
    for item in facts[-4:]:
        item[-1] = [["eip155:1", "0xlonely", "40"]]

    stats = stats_build(facts=facts, as_of=None, release=1)

    assert "RARE" not in named(stats["by_asset"], "asset")
    assert "2022-12-01" not in named(stats["by_day"], "day")
    assert "0xlonely" not in [row.get("address") for row in stats["attacker_addresses"]]
    assert all(row["reports"] >= SMALL_CELL for key in ("by_asset", "by_day", "attacker_addresses")
               for row in stats[key])


def test_filters_that_leave_fewer_than_five_reports_are_refused():
    with pytest.raises(TooFewReports):
        stats_of({"Big": 20, "Canary": 4}, filters=Filters(exchange="Canary"))

    assert stats_of({"Big": 20}, filters=Filters(exchange="Big"))["reports"] == 20


def test_filters_narrow_by_tier_status_source_and_day():
    facts = [*[fact("A", tier="T3") for _ in range(6)],
             *[fact("A", tier="T1", source="sheet") for _ in range(7)],
             *[fact("A", day="2022-12-20", status="verified") for _ in range(5)]]

    def count(**filters):
        return stats_build(facts=facts, as_of=None, release=1, filters=Filters(**filters))["reports"]

    from datetime import date
    assert count(min_tier="T2") == 11
    assert count(source="sheet") == 7
    assert count(status="verified") == 5
    assert count(since=date(2022, 12, 1)) == 5
    assert count(until=date(2022, 11, 30)) == 13


# --- Releases: frozen numbers ------------------------------------------------------------------


def test_a_release_stores_its_summary_and_the_public_numbers_stay_frozen_until_the_next(crowd, client):
    release = publish(crowd.incident)
    before = client.get("/api/v1/incidents/leak/stats/").json()

    add_reports(crowd.incident, "Binance", 3, claimed="5000")
    after = client.get("/api/v1/incidents/leak/stats/").json()

    assert after == before == {**release.stats, "preview": False}
    assert before["release"] == 1 and before["reports"] == 27
    assert before["as_of"] == release.manifest["created_at"]
    second = publish(crowd.incident)
    assert client.get("/api/v1/incidents/leak/stats/").json()["reports"] == 30
    assert client.get("/api/v1/incidents/leak/stats/?release=1").json() == before
    assert second.stats["release"] == 2


def test_before_the_first_release_the_public_sees_a_notice_and_no_numbers(crowd, client):
    stats = client.get("/api/v1/incidents/leak/stats/").json()
    page = client.get("/incidents/leak/").content.decode()

    assert stats["release"] is None and stats["as_of"] is None
    assert (stats["reports"], stats["claimed_loss_usd"], stats["by_exchange"]) == (0, "0.00", [])
    assert "Not yet released" in page


def test_money_is_decimal_strings_and_every_breakdown_row_has_its_key(crowd, client):
    publish(crowd.incident)
    stats = client.get("/api/v1/incidents/leak/stats/").json()

    assert isinstance(stats["claimed_loss_usd"], str) and Decimal(stats["claimed_loss_usd"]) == 27000
    for key, names in {"by_exchange": ("exchange",), "by_asset": ("asset",), "by_day": ("day",),
                       "attacker_addresses": ("chain", "address")}.items():
        for row in stats[key]:
            assert row.get("other") or all(name in row for name in names)
            assert isinstance(row["verified_loss_usd"], str) and isinstance(row["reports"], int)


def test_the_stats_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()

    assert "/api/v1/incidents/{slug}/stats/" in schema
    assert "attacker_addresses" in schema and "by_exchange" in schema


def test_an_unknown_incident_or_release_is_404(crowd, client):
    assert client.get("/api/v1/incidents/nope/stats/").status_code == 404
    assert client.get("/api/v1/incidents/leak/stats/?release=9").status_code == 404


def test_a_filter_naming_a_folded_exchange_is_refused_without_repeating_it(crowd, client):
    publish(crowd.incident)

    response = client.get("/api/v1/incidents/leak/stats/", {"exchange": CANARY_EXCHANGE})

    assert response.status_code == 400
    assert CANARY_EXCHANGE not in response.content.decode()
