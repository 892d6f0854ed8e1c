"""Trade-history exports as evidence: judge one against the other reporters' exports, then its partners.

An export proves a loss only when other reporters' exports corroborate it (verification.checks.trades,
checks.py). Verdicts must not depend on the order in which exports arrive, so whenever an export's
pair-hours change (first check, re-check, another file), every other export of the incident sharing
one of those pair-hours is checked again through its usual task. A re-check that changes nothing
queues nothing, so the cascade stops. The judging step holds the incident's row lock: two exports
checked at the same moment see each other, never neither.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial

from django.db import transaction

from incidents import hooks
from incidents.models import Evidence, Incident, Report, ReportStatus
from incidents.vocabulary import CheckName
from verification.checks.common import CheckOutcome
from verification.checks.trades import (
    ParsedExport,
    SignatureEntry,
    TradeFileError,
    TradeFindings,
    TradeLoss,
    net_loss_excluding,
    parse_export,
    signature_keys,
    trade_checks,
    trade_key,
    trade_loss,
    unreadable_export_checks,
)
from verification.models import CheckResult, Outcome
from verification.selectors import prices_for

# Pairs this many OTHER reporters traded within one hour form the signature an export is judged by
# (with the export's own owner, three victims).
SIGNATURE_MIN_OTHERS = 2
MAX_TRADE_KEYS = 20_000  # in-window trades remembered to spot the same trade in a report's other file
# Outcomes another export's arrival can change; the rest (no trades, no loss, no price) cannot.
WAITING_FOR_OTHERS = frozenset({"uncorroborated", "price_off_market"})
ReportsByKey = dict[str, set[int]]


@dataclass(frozen=True)
class ExportState:
    """What other exports' judgements depend on: an export's pair-hours and its own outcome."""

    pair_hours: frozenset[str] = frozenset()
    outcome: str = ""


@dataclass
class PreparedExport:
    """An export read outside any transaction (parsing is the slow part)."""

    name: str
    export: ParsedExport | None = None
    error: TradeFileError | None = None


def trade_export_prepare(*, evidence: Evidence, data: bytes) -> PreparedExport:
    """Parse an export's bytes; a file that cannot be read is kept as its error."""
    name = evidence.original_name or evidence.sha256
    try:
        return PreparedExport(name, export=parse_export(data, filename=name))
    except TradeFileError as exc:
        return PreparedExport(name, error=exc)


def trade_export_judge(*, evidence: Evidence, prepared: PreparedExport) -> list[CheckOutcome]:
    """Value the window's trades and judge them against the other reporters' exports (in a transaction)."""
    if prepared.export is None:
        return unreadable_export_checks(filename=prepared.name, error=prepared.error).outcomes
    report, incident, export = evidence.report, evidence.report.incident, prepared.export
    Incident.objects.select_for_update().filter(pk=incident.pk).exists()
    loss = trade_loss(trades=export.trades, window_start=incident.window_start,
                      window_end=incident.window_end, prices=_prices(export), unpaired=export.skipped)
    keys = signature_keys(loss.trades)
    signature, reports_by_key = _signature(report, keys)
    findings = trade_checks(export=export, loss=loss, signature=signature,
                            claimed_amount_usd=report.claimed_loss_usd, tolerance=incident.tolerance)
    # Kept so that other exports can be judged against this one's pairs, hours, prices and trades.
    findings.outcomes[0].raw.update(pair_hours=list(keys), pair_prices=keys,
                                    trade_keys=sorted({trade_key(t) for t in loss.trades})[:MAX_TRADE_KEYS])
    if findings.proven:
        _count_once(evidence, findings, loss, reports_by_key)
    return findings.outcomes


def _count_once(
    evidence: Evidence, findings: TradeFindings, loss: TradeLoss, reports_by_key: ReportsByKey
) -> None:
    """Record the proven loss less the trades the report's earlier files count, and who corroborated it."""
    verified, repeated = net_loss_excluding(loss, _counted_by_siblings(evidence))
    # The reports whose exports corroborate this one: the re-check sweep notices when one goes.
    matched = {f"{m.pair}|{m.hour.isoformat()}" for m in findings.matches}
    corroborated = sorted({pk for key in matched for pk in reports_by_key[key]})
    findings.outcomes[1].raw.update(verified_loss_usd=str(verified), already_counted=repeated,
                                    corroborated_by=corroborated)


def export_state(*, evidence: Evidence) -> ExportState:
    """Return what an export's last check left (an empty state before the first)."""
    names = [CheckName.EXPORT_PARSED, CheckName.TRADE_LOSS_CONSISTENT]
    rows = (CheckResult.objects.filter(evidence=evidence, check_name__in=names)
            .values_list("check_name", "outcome", "raw__pair_hours"))
    state = {name: (outcome, hours) for name, outcome, hours in rows}
    hours = state.get(CheckName.EXPORT_PARSED, ("", []))[1] or []
    return ExportState(frozenset(hours), state.get(CheckName.TRADE_LOSS_CONSISTENT, ("", None))[0])


def outcomes_state(outcomes: list[CheckOutcome]) -> ExportState:
    by_name = {o.name: o for o in outcomes}
    parsed, consistent = by_name.get(CheckName.EXPORT_PARSED), by_name.get(CheckName.TRADE_LOSS_CONSISTENT)
    return ExportState(frozenset(parsed.raw.get("pair_hours", []) if parsed else []),
                       str(consistent.outcome) if consistent else "")


def trade_partners_rejudge(*, evidence: Evidence, before: ExportState, after: ExportState) -> None:
    """Queue again the exports whose judgement this export's change can alter (see the module's docstring).

    Other reporters' exports sharing a pair-hour this export lost, or one it added while they wait
    for corroboration; and this report's later files, which leave out the trades earlier ones count.
    """
    if before == after:
        return
    partners = _partners_touched(evidence, removed=before.pair_hours - after.pair_hours,
                                 added=after.pair_hours - before.pair_hours)
    siblings = (CheckResult.objects.filter(check_name=CheckName.EXPORT_PARSED, report_id=evidence.report_id,
                                           evidence_id__gt=evidence.pk).values_list("evidence_id", flat=True))
    for evidence_id in sorted({*partners, *siblings}):
        transaction.on_commit(partial(evidence_verification_enqueue, evidence_id=evidence_id))


def evidence_verification_enqueue(*, evidence_id: int) -> None:
    """Queue a file's checks again, as a stored file's are queued (tests replace it to run them at once)."""
    # verification.tasks imports this module (tasks import services, never the reverse): the
    # queueing goes through the hook whose handler (verification/hooks.py) is
    # tasks.evidence_verification_enqueue, looked up when called.
    hooks.evidence_stored(evidence_id=evidence_id)


def _partners_touched(evidence: Evidence, *, removed: set[str], added: set[str]) -> set[int]:
    incident_id = evidence.report.incident_id
    if not removed | added:
        return set()
    others = (CheckResult.objects.filter(check_name=CheckName.EXPORT_PARSED, report__incident_id=incident_id,
                                         raw__pair_prices__has_any_keys=list(removed | added))
              .exclude(report_id=evidence.report_id).exclude(report__status=ReportStatus.WITHDRAWN)
              .values_list("evidence_id", "raw__pair_hours"))
    sharing = {eid: set(hours or []) for eid, hours in others if eid and (removed | added) & set(hours or [])}
    consistent = CheckResult.objects.filter(check_name=CheckName.TRADE_LOSS_CONSISTENT,
                                            evidence_id__in=list(sharing))
    waiting = dict(consistent.values_list("evidence_id", "reasons"))
    return {eid for eid, hours in sharing.items()
            if hours & removed or (hours & added and WAITING_FOR_OTHERS & set(waiting.get(eid) or []))}


def _counted_by_siblings(evidence: Evidence) -> set[str]:
    """Trades the report's earlier proven files already count: a trade counts once, in its first file."""
    proven = (CheckResult.objects.filter(check_name=CheckName.TRADE_LOSS_CONSISTENT,
                                         report_id=evidence.report_id, evidence_id__lt=evidence.pk,
                                         outcome=Outcome.PASS)
              .values_list("evidence_id", flat=True))
    keys = (CheckResult.objects.filter(check_name=CheckName.EXPORT_PARSED, evidence_id__in=list(proven))
            .values_list("raw__trade_keys", flat=True))
    return {key for listed in keys for key in (listed or [])}


def _prices(export: ParsedExport) -> dict:
    symbols = {t.base_asset for t in export.trades} | {t.quote_asset for t in export.trades}
    symbols |= {asset for t in export.trades for asset, _ in t.fees}
    symbols |= {asset for group in export.skipped for asset in [*group.legs, *group.fees]}
    days = {t.time.date() for t in export.trades} | {group.time.date() for group in export.skipped}
    return prices_for(symbols={s for s in symbols if s}, days=days)


def reporter_identity(reporter_id: int | None, email: str, report_id: int) -> str:
    """Who stands behind a report: one person's several reports corroborate nothing for each other."""
    if reporter_id:
        return f"user:{reporter_id}"
    return f"email:{email.lower()}" if email else f"report:{report_id}"


def _signature(report: Report, mine: dict[str, list[str]]) -> tuple[list[SignatureEntry], ReportsByKey]:
    """Pairs that at least SIGNATURE_MIN_OTHERS other reporters traded in the hours this export did.

    Also return, by pair-hour, the reports whose exports count towards it.
    """
    if not mine:
        return [], {}
    others = (CheckResult.objects.filter(check_name=CheckName.EXPORT_PARSED,
                                         report__incident_id=report.incident_id,
                                         raw__pair_prices__has_any_keys=list(mine))
              .exclude(report_id=report.pk).exclude(report__status=ReportStatus.WITHDRAWN)
              .values_list("report__reporter_id", "report__contact_email", "report_id", "raw__pair_prices"))
    who, reports, prices = _tally(reporter_identity(report.reporter_id, report.contact_email, report.pk),
                                  mine, others)
    entries = [_entry(key, len(people), prices[key]) for key, people in who.items()
               if len(people) >= SIGNATURE_MIN_OTHERS]
    return entries, reports


def _tally(me: str, mine: dict, others) -> tuple[dict[str, set[str]], ReportsByKey, dict[str, list[str]]]:
    """Count, by pair-hour of this export, the other people, their reports and their unit prices."""
    who = {key: set() for key in mine}
    reports: ReportsByKey = {key: set() for key in mine}
    prices: dict[str, list[str]] = {key: [] for key in mine}
    for reporter_id, email, report_id, pair_prices in others:
        identity = reporter_identity(reporter_id, email, report_id)
        for key, span in (pair_prices or {}).items():
            if key in who and identity != me:
                who[key].add(identity)
                reports[key].add(report_id)
                prices[key].extend(span)
    return who, reports, prices


def _entry(key: str, victims: int, prices: list[str]) -> SignatureEntry:
    pair, hour = key.split("|", 1)
    values = [Decimal(p) for p in prices]
    return SignatureEntry(pair, datetime.fromisoformat(hour), victims, min(values, default=None),
                          max(values, default=None))


def trade_exports_lost_corroboration() -> list[int]:
    """Return the proven exports one of whose corroborating reports is gone (withdrawn, erased)."""
    proven = list(CheckResult.objects.filter(check_name=CheckName.TRADE_LOSS_CONSISTENT, outcome=Outcome.PASS,
                                             evidence__isnull=False)
                  .exclude(report__status=ReportStatus.WITHDRAWN)
                  .values_list("evidence_id", "raw__corroborated_by"))
    cited = {pk for _, pks in proven for pk in pks or []}
    alive = set(Report.objects.active().filter(pk__in=cited).values_list("pk", flat=True))
    return sorted(evidence_id for evidence_id, pks in proven if set(pks or []) - alive)
