"""The queue's stored columns (open fraud flags, contested) and its shared counts."""

import importlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.models import Binding, ClaimStatus, Report, ReportStatus
from incidents.queue_state import report_queue_state, reports_queue_state_refresh
from moderation.selectors import queue_changed
from moderation.services import flag_resolve, transfer_bind
from tests.factories import ClaimFactory, IncidentFactory, ReportFactory, login_with_second_factor
from tests.moderation.conftest import claimed, reviewable
from verification.services import reports_recompute

pytestmark = pytest.mark.django_db


@pytest.fixture
def mod_client(client, moderator):
    login_with_second_factor(client, moderator)
    return client


def stored(report) -> tuple[int, bool]:
    return tuple(Report.objects.filter(pk=report.pk).values_list("open_fraud_flags", "contested").get())


# --- What is stored --------------------------------------------------------------------------------


def test_only_fraud_flags_no_moderator_resolved_count_and_a_contested_claim_marks_the_report():
    state = report_queue_state(flags=["mail_forged", "ticket_reused", "claim_exceeds_proof"],
                               resolved_flags=["ticket_reused"], claim_statuses=["verified", "contested"])

    assert state == {"open_fraud_flags": 1, "contested": True}
    assert report_queue_state(flags=["tx_not_found"], resolved_flags=[], claim_statuses=["duplicate"]) == {
        "open_fraud_flags": 0, "contested": False}


def test_the_verdict_stores_contested_and_clears_it_when_a_decision_binds_the_transfer(moderator):
    incident = IncidentFactory()
    first = ReportFactory(incident=incident, status=ReportStatus.NEEDS_REVIEW, contact_email="a@example.org")
    second = ReportFactory(incident=incident, status=ReportStatus.NEEDS_REVIEW)
    cited = [ClaimFactory(report=report, tx_hash="0x" + "cd" * 32, status=ClaimStatus.VERIFIED,
                          checked_status=ClaimStatus.VERIFIED, usd_value=Decimal("900"))
             for report in (first, second)]
    Report.objects.update(contested=False)  # as stored before anything weighed the two citations

    reports_recompute(report_ids=[first.pk])

    assert stored(first) == (0, True) and stored(second) == (0, True)
    transfer_bind(report_id=first.pk, claim_id=cited[0].pk, moderator=moderator, reason="proof_sufficient",
                  note="The withdrawal mail names this transfer.", version=claimed(first, moderator))
    cited[0].refresh_from_db()
    assert cited[0].binding == Binding.DECISION
    # The other report now cites a transfer bound elsewhere: a fraud flag, no longer contested.
    assert stored(first) == (0, False) and stored(second) == (1, False)


def test_resolving_the_fraud_flag_takes_the_report_off_the_top_of_the_queue(mod_client, moderator):
    flagged = reviewable(loss="50", flags=["mail_wrong_domain"])
    plain = reviewable(loss="900")
    assert stored(flagged) == (1, False)
    html = mod_client.get(reverse("moderation:queue")).content.decode()
    assert html.index(f"#{flagged.pk}<") < html.index(f"#{plain.pk}<")

    flag_resolve(report_id=flagged.pk, moderator=moderator, flag="mail_wrong_domain",
                 reason="proof_sufficient", note="The exchange moved its support mail to this domain.",
                 version=claimed(flagged, moderator))

    assert stored(flagged) == (0, False)
    html = mod_client.get(reverse("moderation:queue")).content.decode()
    assert html.index(f"#{plain.pk}<") < html.index(f"#{flagged.pk}<")


def test_the_refresh_and_the_migration_backfill_store_what_the_verdict_would():
    flagged = ReportFactory(flags=["ticket_reused", "mail_forged"], resolved_flags=["mail_forged"])
    contested = ReportFactory()
    ClaimFactory(report=contested, status=ClaimStatus.CONTESTED)
    untouched = ReportFactory(flags=["claim_exceeds_proof"])
    Report.objects.update(open_fraud_flags=0, contested=False)  # as before the columns existed

    # As migrate calls it: one UPDATE on PostgreSQL, row by row elsewhere.
    migration = importlib.import_module("incidents.migrations.0011_queue_backfill_queue_columns")
    migration.backfill(apps, SimpleNamespace(connection=connection))

    assert (stored(flagged), stored(contested), stored(untouched)) == ((1, False), (0, True), (0, False))
    Report.objects.update(open_fraud_flags=3, contested=True)
    assert reports_queue_state_refresh() == 3
    assert (stored(flagged), stored(contested), stored(untouched)) == ((1, False), (0, True), (0, False))


# --- Counts and queries ------------------------------------------------------------------------------


def test_counts_are_shared_for_a_while_and_recounted_after_a_moderators_action(
        client, mod_client, second_moderator):
    first = reviewable()
    reviewable()
    login_with_second_factor(other := client.__class__(), second_moderator)
    assert "2 reports in this view" in mod_client.get(reverse("moderation:queue")).content.decode()

    reviewable()  # a report the verdict sends to review: counted within COUNTS_SECONDS
    assert "2 reports in this view" in mod_client.get(reverse("moderation:queue")).content.decode()
    assert "2 reports in this view" in other.get(reverse("moderation:queue")).content.decode()

    mod_client.post(reverse("moderation:claim", args=[first.pk]))  # any action of theirs
    assert "3 reports in this view" in mod_client.get(reverse("moderation:queue")).content.decode()
    # The recount is shared: the other moderator reads it too, without counting again.
    with CaptureQueriesContext(connection) as captured:
        assert "3 reports in this view" in other.get(reverse("moderation:queue")).content.decode()
    assert not any("COUNT(" in query["sql"] for query in captured.captured_queries)


def test_counts_of_the_reports_i_hold_are_mine_alone(client, mod_client, moderator, second_moderator):
    claimed(reviewable(), moderator)
    login_with_second_factor(other := client.__class__(), second_moderator)

    mine = mod_client.get(reverse("moderation:queue"), {"held_by": "me"}).content.decode()
    theirs = other.get(reverse("moderation:queue"), {"held_by": "me"}).content.decode()

    assert "1 report in this view" in mine and "0 reports in this view" in theirs


@pytest.mark.parametrize("query", [{}, {"flag": "ticket_reused", "verified_min": "100", "sort": "loss"},
                                   {"contested": "on", "sort": "age"}])
def test_the_queue_costs_the_same_queries_with_few_or_many_reports(mod_client, query):
    def queries() -> int:
        queue_changed()  # count each time: a cache miss is the dearer case
        with CaptureQueriesContext(connection) as captured:
            assert mod_client.get(reverse("moderation:queue"), query).status_code == 200
        return len(captured)

    for _n in range(3):
        ClaimFactory(report=reviewable(loss="500", flags=["ticket_reused"]), status=ClaimStatus.CONTESTED)
    few = queries()
    for _n in range(40):
        ClaimFactory(report=reviewable(loss="500", flags=["ticket_reused"]), status=ClaimStatus.CONTESTED)

    assert queries() == few


def test_the_review_page_links_the_previous_and_next_report_of_the_queue_page_it_came_from(mod_client):
    first, middle, last = (reviewable(loss=loss) for loss in ("900", "500", "100"))  # sorted by loss
    url = reverse("moderation:review", args=[middle.pk])

    html = mod_client.get(url, {"q": "sort=loss&page=1"}).content.decode()
    beyond = mod_client.get(url, {"q": "sort=loss&page=2"}).content.decode()

    assert f'/moderation/reports/{first.pk}/?q=sort%3Dloss%26page%3D1" rel="prev"' in html
    assert f'/moderation/reports/{last.pk}/?q=sort%3Dloss%26page%3D1" rel="next"' in html
    assert 'rel="prev"' not in beyond and 'rel="next"' not in beyond
