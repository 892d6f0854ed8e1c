"""field__any: the same rows as field__in, however the database receives the list; planner statistics."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from incidents.models import Claim, Report
from tests.factories import ClaimFactory, ReportFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reports():
    made = ReportFactory.create_batch(5)
    for n, report in enumerate(made):
        ClaimFactory(report=report, chain="eip155:1" if n % 2 else "eip155:10")
    return made


def test_any_finds_the_rows_in_finds(reports):
    wanted = [reports[0].pk, reports[3].pk, reports[3].pk, None, 10**9]

    assert (sorted(Report.objects.filter(pk__any=wanted).values_list("pk", flat=True))
            == sorted(Report.objects.filter(pk__in=wanted).values_list("pk", flat=True))
            == sorted([reports[0].pk, reports[3].pk]))
    by_report = Claim.objects.filter(report_id__any=wanted).values_list("report_id", flat=True)
    assert sorted(by_report) == sorted([reports[0].pk, reports[3].pk])
    assert Claim.objects.filter(chain__any={"eip155:10"}).count() == 3


def test_any_of_nothing_matches_nothing_and_any_of_a_subquery_works(reports):
    assert list(Report.objects.filter(pk__any=[])) == []
    assert list(Report.objects.filter(pk__any=[None])) == []
    cited = Claim.objects.filter(chain="eip155:1").values("report_id")
    assert sorted(Report.objects.filter(pk__any=cited).values_list("pk", flat=True)) == sorted(
        [reports[1].pk, reports[3].pk])


def test_postgresql_receives_one_array_not_one_parameter_per_value(reports):
    if connection.vendor != "postgresql":
        pytest.skip("an IN list elsewhere")
    with CaptureQueriesContext(connection) as queries:
        list(Report.objects.filter(pk__any=[report.pk for report in reports]))
    assert "= ANY(" in queries[0]["sql"] and " IN (" not in queries[0]["sql"]


def test_tables_a_bulk_write_grows_get_planner_statistics_as_they_grow():
    from incidents.copying import PlannerStatistics

    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL's planner reads table statistics that ANALYZE takes")

    def counted() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'incidents_report'")
            return cursor.fetchone()[0]

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE incidents_report")  # what earlier tests left in pg_class: none
    assert counted() == Report.objects.count() == 0
    statistics = PlannerStatistics(Report, Claim, minimum=4)
    ReportFactory.create_batch(3)
    statistics.grown(3)
    assert counted() == 0  # fewer rows than the minimum: no ANALYZE yet
    ReportFactory.create_batch(2)
    statistics.grown(2)
    assert counted() == 5
    ReportFactory.create_batch(40)
    statistics.grown(40)  # 40 more on 5 counted: not yet (the planner scales 5 by the table's size)
    assert counted() == 5
    ReportFactory.create_batch(5)
    statistics.grown(5)  # 45 more: nine times what was counted
    assert counted() == 50


def test_bulk_inserted_json_orjson_refuses_is_stored_as_a_json_field_stores_it():
    """Integers beyond 64 bits and keys that are not text go through json, not orjson."""
    from incidents.copying import values_insert
    from verification.models import CheckResult

    report = ReportFactory()
    now = timezone.now()
    raw = {"units": 2**70, "nested": {"amounts": [2**65, 1]}}
    values_insert(CheckResult, [{"report_id": report.pk, "claim_id": None, "evidence_id": None,
                                 "check_name": "ownership_signature", "outcome": "pass",
                                 "reasons": {1: "a key that is not text"}, "raw": raw, "provider": "test",
                                 "started_at": now, "finished_at": now, "attempts": 1}])

    stored = CheckResult.objects.get(report=report)
    assert stored.raw == raw and stored.reasons == {"1": "a key that is not text"}
