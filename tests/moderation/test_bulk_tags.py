"""Bulk actions on the queue: tagging the ticked reports (and assigning them) never decides anything."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_verify
from incidents.models import Report, ReportStatus
from moderation.models import Decision, ReportTag
from moderation.services import ModerationRefused, reports_tag
from tests.factories import UserFactory, login_with_second_factor
from tests.moderation.conftest import reviewable

pytestmark = pytest.mark.django_db


@pytest.fixture
def mod_client(client, moderator):
    login_with_second_factor(client, moderator)
    return client


def states() -> dict[int, tuple]:
    return {pk: rest for pk, *rest in Report.objects.values_list(
        "pk", "status", "decided_at", "decision_reason", "tier", "verified_loss_usd", "resolved_flags")}


def tag_events() -> list[tuple[str, str, dict]]:
    return list(AuditEvent.objects.filter(action__in=["report_tag", "report_untag"]).order_by("seq")
                .values_list("action", "subject", "data"))


def test_tagging_writes_one_audit_row_per_report_it_changes(moderator):
    first, second = reviewable(), reviewable()
    ReportTag.objects.create(report=second, name="police-asked")

    changed, refusals = reports_tag(report_ids=[first.pk, second.pk, first.pk], tag=" Police Asked ",
                                    moderator=moderator)

    assert (changed, refusals) == (1, [])
    assert sorted(ReportTag.objects.values_list("report_id", "name")) == [
        (first.pk, "police-asked"), (second.pk, "police-asked")]
    assert tag_events() == [("report_tag", f"report:{first.pk}", {"tag": "police-asked"})]
    assert audit_verify() == []


def test_removing_a_tag_writes_one_row_per_report_that_had_it(moderator):
    tagged, bare = reviewable(), reviewable()
    ReportTag.objects.create(report=tagged, name="needs-translation")

    changed, _ = reports_tag(report_ids=[tagged.pk, bare.pk], tag="needs-translation", moderator=moderator,
                             remove=True)

    assert changed == 1 and not ReportTag.objects.exists()
    assert tag_events() == [("report_untag", f"report:{tagged.pk}", {"tag": "needs-translation"})]


@pytest.mark.parametrize("tag", ["", "-dash-first", "a" * 41, "semi;colon", "<b>"])
def test_a_malformed_tag_is_refused_and_nothing_is_written(moderator, tag):
    report = reviewable()

    with pytest.raises(ModerationRefused, match="A tag is 1 to 40"):
        reports_tag(report_ids=[report.pk], tag=tag, moderator=moderator)

    assert not ReportTag.objects.exists() and tag_events() == []


def test_only_moderators_tag_and_never_their_own_or_a_withdrawn_report(moderator):
    own = reviewable(reporter=moderator)
    withdrawn = reviewable(status=ReportStatus.WITHDRAWN)
    admin = UserFactory(is_staff=True, is_superuser=True)

    with pytest.raises(ModerationRefused, match="Only moderators"):
        reports_tag(report_ids=[own.pk], tag="x", moderator=admin)
    changed, refusals = reports_tag(report_ids=[own.pk, withdrawn.pk], tag="x", moderator=moderator)

    assert changed == 0 and len(refusals) == 2 and not ReportTag.objects.exists()


ANY_STATUS = [ReportStatus.NEEDS_REVIEW, ReportStatus.NEEDS_INFO, ReportStatus.VERIFIED,
              ReportStatus.REJECTED, ReportStatus.PARTIALLY_VERIFIED, ReportStatus.CHECKING]


def test_bulk_actions_never_change_a_reports_status_even_when_asked_to(mod_client, second_moderator):
    reports = [reviewable(status=status) for status in ANY_STATUS]
    ids = [report.pk for report in reports]
    before = states()
    # Whatever a crafted form adds (a decision's fields, another action), bulk actions only tag and assign.
    decision_fields = {"status": "verified", "reason": "proof_sufficient", "note": "n", "decide": "verified",
                       "action": "decide", "version": "x"}

    for action in ("add", "remove", "add"):
        mod_client.post(reverse("moderation:tag"), {"report": ids, "tag": "large-loss", "tag_action": action,
                                                    **decision_fields})
    mod_client.post(reverse("moderation:assign"), {"report": ids, "assignee": second_moderator.pk,
                                                   **decision_fields})

    assert states() == before
    assert not Decision.objects.exists()
    assert ReportTag.objects.filter(name="large-loss").count() == len(ids)
    assert {action for action, *_ in AuditEvent.objects.values_list("action")} <= {
        "report_tag", "report_untag", "moderator_claim"}


def test_the_queue_tags_the_ticked_reports_without_javascript_and_filters_by_tag(mod_client):
    ticked, other = reviewable(), reviewable()
    queue = mod_client.get(reverse("moderation:queue")).content.decode()
    # The bulk form is plain HTML: the tag buttons post the same form to the tag action.
    assert f'formaction="{reverse("moderation:tag")}" name="tag_action" value="add"' in queue
    assert f'name="report" value="{ticked.pk}"' in queue

    response = mod_client.post(reverse("moderation:tag"), {"report": [ticked.pk], "tag": "needs-translation",
                                                           "tag_action": "add", "q": "sort=age"}, follow=True)

    html = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("moderation:queue") + "?sort=age"
    assert "1 report(s) tagged." in html and "needs-translation</a>" in html
    narrowed = mod_client.get(reverse("moderation:queue"), {"tag": "needs-translation"}).content.decode()
    assert f"#{ticked.pk}<" in narrowed and f"#{other.pk}<" not in narrowed
    review = mod_client.get(reverse("moderation:review", args=[ticked.pk])).content.decode()
    assert "needs-translation</a>" in review


def test_tagging_nothing_ticked_or_a_bad_tag_tells_the_moderator(mod_client):
    report = reviewable()

    nothing = mod_client.post(reverse("moderation:tag"), {"tag": "x", "tag_action": "add"}, follow=True)
    bad = mod_client.post(reverse("moderation:tag"), {"report": [report.pk], "tag": "no way!",
                                                      "tag_action": "add"}, follow=True)

    assert "Tick the reports to tag first." in nothing.content.decode()
    assert "A tag is 1 to 40" in bad.content.decode()
    assert not ReportTag.objects.exists()


def test_people_who_are_not_moderators_cannot_reach_the_tag_action(client):
    report = reviewable()
    login_with_second_factor(client, UserFactory(is_staff=True, is_superuser=True))

    response = client.post(reverse("moderation:tag"), {"report": [report.pk], "tag": "x",
                                                       "tag_action": "add"})

    assert response.status_code == 404 and not ReportTag.objects.exists()
