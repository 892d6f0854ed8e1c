"""Reads for the moderator's pages and the decision service."""

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, Min, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from audit.models import AuditEvent
from incidents.models import Claim, Evidence, Report, ReportMessage, ReportStatus, Tier
from incidents.vocabulary import CheckName
from moderation.models import Decision, DecisionState, ReportHold, ReportTag
from verification.selectors import checks_outside_claims

# What a moderator reads before deciding; a change to any of these makes a decision stale.
VERSION_FIELDS = ("status", "tier", "flags", "verified_loss_usd", "resolved_flags", "decided_at",
                  "decision_reason", "claimed_loss_usd", "support_ticket_id", "exchange_id", "updated_at")


def report_version(*, report_id: int) -> str:
    """Return a fingerprint of what a moderator reads about a report (four small queries)."""
    report = Report.objects.filter(pk=report_id).values_list(*VERSION_FIELDS).first()
    claims = Claim.objects.filter(report_id=report_id).order_by("pk").values_list(
        "pk", "status", "binding", "usd_value")
    evidence = Evidence.objects.filter(report_id=report_id).order_by("pk").values_list("pk", flat=True)
    messages = ReportMessage.objects.filter(report_id=report_id).order_by("pk").values_list("pk", flat=True)
    state = [report, list(claims), list(evidence), list(messages)]
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()[:20]


# --- The queue ---------------------------------------------------------------------------------

WAITING = [ReportStatus.NEEDS_REVIEW]
SORTS = {
    # Fraud flags first (they cap a tier until someone looks), then the largest proven loss. Each
    # sort is an index on Report (status first), so the first page is read in order, not sorted.
    "flags": ["-open_fraud_flags", "-verified_loss_usd", "submitted_at", "pk"],
    "loss": ["-verified_loss_usd", "submitted_at", "pk"],
    "age": ["submitted_at", "pk"],
}


@dataclass(frozen=True)
class QueueFilters:
    """What the queue shows; every field comes from the URL, so that a view has a permalink."""

    incident: str = ""
    statuses: tuple[str, ...] = tuple(WAITING)
    tier: str = ""
    flag: str = ""
    exchange: str = ""
    claimed_min: Decimal | None = None
    claimed_max: Decimal | None = None
    verified_min: Decimal | None = None
    verified_max: Decimal | None = None
    older_than_days: int | None = None
    held_by: str = ""  # "me", "nobody", "anyone" or a moderator's id
    contested: bool = False
    awaiting_second: bool = False
    tag: str = ""
    sort: str = "flags"


def has_flag(flag: str) -> Q:
    """Match reports whose flags list holds ``flag``."""
    # PostgreSQL tests jsonb containment without turning each row's list into text; SQLite has no
    # containment for JSON, and the quoted name cannot match inside another flag's name.
    if connection.vendor == "postgresql":
        return Q(flags__contains=[flag])
    return Q(flags__icontains=f'"{flag}"')


def queue_reports(*, filters: QueueFilters, moderator) -> QuerySet[Report]:
    """Return the reports the filters select, sorted, with what a queue row shows loaded."""
    now = timezone.now()
    # Only the columns a queue row shows, and no join before the sort: open fraud flags and
    # contested transfers are stored columns (incidents.queue_state), so the sort reads an index;
    # incident, exchange and the pending decision are fetched for the page's rows only.
    reports = (Report.objects.filter(_queue_q(filters, moderator, now)).only(*QUEUE_COLUMNS)
               .prefetch_related("incident", "exchange")
               .annotate(pending=Exists(Decision.objects.filter(report=OuterRef("pk"),
                                                                state=DecisionState.PENDING)))
               .prefetch_related(Prefetch("hold", queryset=ReportHold.objects.filter(expires_at__gt=now)
                                          .select_related("moderator"), to_attr="live_hold"),
                                 Prefetch("moderation_tags", queryset=ReportTag.objects.only(
                                     "report_id", "name"), to_attr="tag_list")))
    return reports.order_by(*SORTS.get(filters.sort, SORTS["flags"]))


QUEUE_COLUMNS = ("id", "incident_id", "exchange_id", "status", "tier", "flags", "resolved_flags",
                 "claimed_loss_usd", "verified_loss_usd", "submitted_at", "open_fraud_flags", "contested")


def _queue_q(filters: QueueFilters, moderator, now) -> Q:
    q = Q(status__in=filters.statuses) if filters.statuses else ~Q(status=ReportStatus.WITHDRAWN)
    q &= _eq("incident__slug", filters.incident) & _eq("tier", filters.tier)
    q &= _eq("exchange_id", filters.exchange)
    if filters.flag:
        q &= has_flag(filters.flag)
    for field, bound, value in (("claimed_loss_usd", "gte", filters.claimed_min),
                                ("claimed_loss_usd", "lte", filters.claimed_max),
                                ("verified_loss_usd", "gte", filters.verified_min),
                                ("verified_loss_usd", "lte", filters.verified_max)):
        q &= Q(**{f"{field}__{bound}": value}) if value is not None else Q()
    if filters.older_than_days is not None:
        q &= Q(submitted_at__lte=now - timedelta(days=filters.older_than_days))
    if filters.contested:
        q &= Q(contested=True)
    if filters.awaiting_second:
        q &= Q(pk__in=Decision.objects.filter(state=DecisionState.PENDING).values("report_id"))
    if filters.tag:
        q &= Q(pk__in=ReportTag.objects.filter(name=filters.tag).values("report_id"))
    return q & _held_q(filters.held_by, moderator, now)


def _eq(field: str, value) -> Q:
    return Q(**{field: value}) if value else Q()


def _held_q(held_by: str, moderator, now) -> Q:
    live = Q(hold__expires_at__gt=now)
    if held_by == "me":
        return live & Q(hold__moderator=moderator)
    if held_by == "nobody":
        return ~Q(pk__in=ReportHold.objects.filter(expires_at__gt=now).values("report_id"))
    if held_by == "anyone":
        return live
    if held_by.isdigit():
        return live & Q(hold__moderator_id=int(held_by))
    return Q()


def queue_counts(*, reports: QuerySet[Report], filters: QueueFilters, moderator) -> dict:
    """Return the view's counts (``_count``) as counted at most COUNTS_SECONDS ago.

    Counting reads every report of the view, about 100,000 in the unfiltered one, so the counts of
    each view are kept in the cache for a short time and shared by all moderators (paging, coming
    back from a review page and other moderators read them from there). Counters kept up to date
    on each write could only serve a fixed set of views, and the filters combine freely. A
    moderator who just acted (``queue_acted``) has their next view recounted, and shares it: they
    see their own action counted, and one action costs one recount, not one per moderator and view.
    What the verdict or other moderators change shows within COUNTS_SECONDS.
    """
    scope = moderator.pk if filters.held_by == "me" else ""
    view = hashlib.sha256(repr((replace(filters, sort=""), scope)).encode()).hexdigest()[:32]
    key, acted = f"{COUNTS_KEY}:{queue_generation()}:{view}", f"{ACTED_KEY}:{moderator.pk}"
    found = cache.get_many([key, acted])
    counts = None if found.get(acted) else found.get(key)
    if counts is None:
        counts = {**_count(reports), "counted_at": timezone.now()}
        cache.set(key, counts, COUNTS_SECONDS)
        if acted in found:
            cache.delete(acted)
    return counts


COUNTS_SECONDS = 20
COUNTS_KEY = "moderation:queue-counts"
GENERATION_KEY = "moderation:queue-generation"
ACTED_KEY = "moderation:queue-acted"


def queue_acted(*, moderator_id: int) -> None:
    """Have this moderator's next queue view recounted: they just changed a report or a hold."""
    cache.set(f"{ACTED_KEY}:{moderator_id}", True, COUNTS_SECONDS)


def queue_generation() -> int:
    """Return the generation the cached counts and pieces of the queue page carry."""
    return cache.get(GENERATION_KEY, 0)


def queue_changed() -> None:
    """Retire every cached count and piece of the queue page (a fresh start: tests, benchmarks)."""
    if not cache.add(GENERATION_KEY, 1, timeout=None):
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:  # evicted between the two calls
            cache.set(GENERATION_KEY, 1, timeout=None)


def _count(reports: QuerySet[Report]) -> dict:
    """Count the filtered reports by status, tier and flag, and find the oldest one still waiting."""
    # One pass over the view, grouped by what is counted (a few dozen groups), so that each row is
    # read once instead of once per count. The queue's filters join nothing that repeats a report
    # (subqueries, one-to-one), so plain counts are exact.
    groups = (reports.order_by().values("status", "tier", "flags")
              .annotate(n=Count("pk"), oldest=Min("submitted_at", filter=Q(status__in=WAITING))))
    by_status, by_tier, by_flag = Counter(), Counter(), Counter()
    oldest = None
    for group in groups:
        by_status[group["status"]] += group["n"]
        by_tier[group["tier"]] += group["n"]
        for flag in set(group["flags"] or ()):
            by_flag[flag] += group["n"]
        if group["oldest"] is not None and (oldest is None or group["oldest"] < oldest):
            oldest = group["oldest"]
    return {"total": sum(by_status.values()),
            "by_status": {v: by_status[v] for v in ReportStatus.values if by_status[v]},
            "by_tier": {v: by_tier[v] for v in Tier.values if by_tier[v]},
            "by_flag": {flag: by_flag[flag] for flag in FLAG_NAMES if by_flag[flag]},
            "oldest_waiting_since": oldest}


FLAG_NAMES = ("tx_not_found", "tx_contested", "tx_claimed_elsewhere", "mail_forged", "mail_wrong_domain",
              "ticket_reused", "claim_exceeds_proof")


def tag_names() -> list[str]:
    """Return the tags in use (the bulk form's suggestions), read off their index."""
    return list(ReportTag.objects.order_by("name").values_list("name", flat=True).distinct()[:TAGS_MAX])


TAGS_MAX = 200


def moderators_holding() -> QuerySet:
    """Return the moderators who hold a report now (the "claimed by" filter's choices)."""
    from accounts.models import User

    live = ReportHold.objects.filter(expires_at__gt=timezone.now()).values("moderator_id")
    return User.objects.filter(pk__in=live).order_by("username")


# --- The review page -----------------------------------------------------------------------------


def report_for_review(*, report_id: int) -> Report | None:
    """Load a report with its claims, checks, evidence, messages and decisions in a few queries."""
    outside_claims = checks_outside_claims()
    return (Report.objects.select_related("incident", "exchange", "reporter").prefetch_related(
        Prefetch("claims", queryset=Claim.objects.select_related("exchange")
                 .prefetch_related("check_results")),
        Prefetch("evidence", queryset=Evidence.objects.prefetch_related(
            Prefetch("check_results", queryset=outside_claims))),
        Prefetch("check_results", queryset=outside_claims.filter(evidence__isnull=True),
                 to_attr="report_checks"),
        Prefetch("messages", queryset=ReportMessage.objects.select_related("author")),
        Prefetch("decisions", queryset=Decision.objects.select_related(
            "moderator", "second_moderator", "claim")),
        "attestations", "moderation_tags",
    ).filter(pk=report_id).first())


def related_reports(*, report: Report) -> list[tuple[str, Report]]:
    """Return the other reports citing the same transfers, ticket, addresses or leaked-key hash."""
    claims = list(report.claims.all())
    labels: dict[int, list[str]] = {}
    for report_id in _citing_same_transfer(report, claims):
        labels.setdefault(report_id, []).append(str(_("same transfer")))
    addresses = {c.from_address for c in claims if c.from_address}
    same_sender = (Claim.objects.filter(from_address__in=addresses, report__incident=report.incident_id)
                   .exclude(report=report).values_list("report_id", flat=True).distinct()[:RELATED_MAX])
    for report_id in same_sender if addresses else []:
        labels.setdefault(report_id, []).append(str(_("same sending address")))
    for label, q in _report_level_tests(report):
        others = Report.objects.filter(q, incident=report.incident_id).exclude(pk=report.pk)
        for report_id in others.values_list("pk", flat=True)[:RELATED_MAX]:
            labels.setdefault(report_id, []).append(str(label))
    found = Report.objects.active().in_bulk(list(labels)[:RELATED_MAX])
    return [(", ".join(labels[pk]), other) for pk, other in sorted(found.items())]


def _citing_same_transfer(report: Report, claims: list[Claim]) -> set[int]:
    """Find reports citing one of these transfers, through the index on (chain, tx_hash)."""
    wanted = {(c.chain, c.tx_hash) for c in claims if c.tx_hash}
    if not wanted:
        return set()
    chains, hashes = {chain for chain, _tx in wanted}, {tx for _chain, tx in wanted}
    rows = (Claim.objects.filter(chain__in=chains, tx_hash__in=hashes).exclude(report=report)
            .values_list("report_id", "chain", "tx_hash"))
    return {report_id for report_id, chain, tx in rows if (chain, tx) in wanted}


def _report_level_tests(report: Report) -> list[tuple[str, Q]]:
    tests = []
    if report.support_ticket_id:
        tests.append((_("same ticket"), Q(exchange_id=report.exchange_id,
                                          support_ticket_id=report.support_ticket_id)))
    if report.api_key_id_sha256:
        tests.append((_("same leaked-key hash"), Q(api_key_id_sha256=report.api_key_id_sha256)))
    return tests


RELATED_MAX = 50


def report_history(*, report: Report) -> list[AuditEvent]:
    """Return the audit events about this report, oldest first."""
    return list(AuditEvent.objects.filter(subject=f"report:{report.pk}").order_by("seq")[:HISTORY_MAX])


HISTORY_MAX = 200


def signed_header_names(results) -> dict[str, list[str]]:
    """Map each header the exchange's aligned signature covers to its domain (never pooled)."""
    for result in results:
        raw = (result.raw or {}) if result.check_name == CheckName.DKIM_SIGNATURE else {}
        covered = [str(name).lower() for name in raw.get("covered_headers") or []]
        if covered:
            signers = [s for s in raw.get("signatures", [])
                       if isinstance(s, dict) and s.get("result") == "pass"]
            domain = next((str(s.get("d", "")) for s in signers if set(covered) <= set(s.get("h", []))), "")
            return {name: [domain] for name in covered}
    return {}
