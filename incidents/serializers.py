"""Reporter API serializers: what a reporter may send, and how their reports read back."""

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerExtension
from rest_framework import serializers

from incidents.chains import normalise_address, normalise_tx_hash
from incidents.models import Claim, Consent, Evidence, EvidenceKind, Incident, Report
from incidents.validation import chain_value_error, secret_refuse, ticket_id_clean
from incidents.vocabulary import Outcome

MAX_CLAIMS = 50
MODERATOR_ONLY = _("This field is set by verification/moderators, not by reporters.")
UNKNOWN_FIELD = _("Unknown field; see /api/schema/ for the fields this endpoint takes.")
# DRF's own message repeats the value, which may be a secret pasted into the wrong field.
CHOICE_ERRORS = {"invalid_choice": _("Not one of the allowed values (see /api/schema/).")}


class StrictInput(serializers.Serializer):
    """Refuse any field the serializer does not declare, naming those moderators set."""

    # Refused rather than ignored: a client that believes it set a status must learn it did not.
    moderator_fields: frozenset[str] = frozenset()

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            extra = [name for name in data if name not in self.fields]
            if extra:
                raise serializers.ValidationError(
                    {name: [MODERATOR_ONLY if name in self.moderator_fields else UNKNOWN_FIELD]
                     for name in extra})
        return super().to_internal_value(data)


class StrictInputSchema(OpenApiSerializerExtension):
    """Tell schema readers (and schemathesis) that unknown fields are refused."""

    target_class = StrictInput
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        return {**schema, "additionalProperties": False}


def refuse_secrets(value: str) -> str:
    """Return free text unchanged, or refuse it when it holds something that looks like a secret."""
    try:
        secret_refuse(value)
    except DjangoValidationError as refused:
        raise serializers.ValidationError(refused.messages) from None
    return value


class ClaimInputSerializer(StrictInput):
    """One transfer you lost, as you state it; verification checks it against the chain."""

    moderator_fields = frozenset({"status", "reasons", "usd_value", "block_number", "block_time", "settled",
                                  "checked_at"})

    chain = serializers.CharField(max_length=64, help_text="CAIP-2 id of one of the incident's chains.")
    tx_hash = serializers.CharField(max_length=70, help_text="Transaction hash, valid for the chain.")
    log_index = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, allow_null=True,
        help_text="Index of the token Transfer log, when the transaction moved several.")
    asset = serializers.CharField(max_length=20, required=False, allow_blank=True,
                                  help_text="Symbol of an asset the incident knows on this chain.")
    amount = serializers.DecimalField(max_digits=40, decimal_places=18, required=False, allow_null=True,
                                      help_text="Amount lost, in whole units of the asset (more than 0).")
    from_address = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                         help_text="Your address the funds left from.")

    def validate_amount(self, value):
        if value is not None and value <= 0:
            raise serializers.ValidationError(_("The amount must be more than 0."))
        return value


class ReportCreateSerializer(StrictInput):
    """A new report with its claims; fields that verification or moderators set are refused."""

    moderator_fields = frozenset({"status", "tier", "flags", "verified_loss_usd", "decided_at", "source",
                                  "reporter", "submitted_at", "source_file", "source_row",
                                  "import_fingerprint"})

    incident = serializers.SlugRelatedField(
        slug_field="slug", queryset=Incident.objects.published(),
        error_messages={"does_not_exist": _("No published incident has this slug."),
                        "invalid": _("Give the slug of a published incident.")},
        help_text="Slug of a published incident.")
    exchange = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                     help_text="Name of one of the incident's exchanges.")
    claimed_loss_usd = serializers.DecimalField(max_digits=20, decimal_places=2, min_value=Decimal(0),
                                                required=False, allow_null=True)
    loss_date = serializers.DateField(required=False, allow_null=True)
    contact_email = serializers.EmailField(
        required=False, help_text="Address your exchange's support mails went to (default: your account's).")
    exchange_email = serializers.EmailField(
        required=False, allow_blank=True, max_length=254,
        help_text="Private, optional: the address your exchange account uses, when not contact_email. "
                  "A support mail counts only when sent to one of the two.")
    support_ticket_id = serializers.CharField(max_length=100, required=False, allow_blank=True,
                                              validators=[refuse_secrets])
    police_report = serializers.CharField(max_length=500, required=False, allow_blank=True,
                                          validators=[refuse_secrets],
                                          help_text="Police reference, as free text.")
    notes = serializers.CharField(max_length=5000, required=False, allow_blank=True,
                                  validators=[refuse_secrets])
    consent_publish = serializers.ChoiceField(choices=Consent.choices, default=Consent.PSEUDONYMOUS,
                                              error_messages=CHOICE_ERRORS)
    reporter_name = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                          validators=[refuse_secrets],
                                          help_text="Required when consent_publish is named.")
    consent_law_enforcement = serializers.BooleanField(default=False)
    claims = ClaimInputSerializer(many=True, max_length=MAX_CLAIMS, default=list,
                                  help_text=f"Up to {MAX_CLAIMS} transfers you lost, each at most once.")

    def validate_exchange_email(self, value):
        return value.strip().lower()  # compared without regard to case

    def validate_loss_date(self, value):
        # One day of slack: east of UTC, the reporter's today can be UTC's tomorrow.
        if value and value > timezone.now().date() + timedelta(days=1):
            raise serializers.ValidationError(_("The loss date cannot be in the future."))
        return value

    def validate(self, attrs):
        incident = attrs["incident"]
        if attrs.get("consent_publish") == Consent.NAMED and not attrs.get("reporter_name"):
            raise serializers.ValidationError({"reporter_name": _("Give the name to publish, or choose "
                                                                  "pseudonymous publication.")})
        attrs["exchange"] = incident_exchange(incident, attrs.get("exchange", ""))
        if attrs.get("support_ticket_id"):
            try:
                attrs["support_ticket_id"] = ticket_id_clean(exchange=attrs["exchange"],
                                                             value=attrs["support_ticket_id"])
            except DjangoValidationError as error:
                raise serializers.ValidationError({"support_ticket_id": error.messages}) from None
        attrs["claims"] = incident_claims(incident, attrs["claims"])
        return attrs


def incident_exchange(incident: Incident, name: str):
    """Return the incident's exchange called ``name`` (None when no name is given)."""
    if not name:
        return None
    exchange = incident.exchanges.filter(name__iexact=name).first()
    if exchange is None:
        known = ", ".join(incident.exchanges.values_list("name", flat=True)) or "none"
        raise serializers.ValidationError(
            {"exchange": _("Not an exchange of this incident (known: %(known)s).") % {"known": known}})
    return exchange


def incident_claims(incident: Incident, claims: list[dict]) -> list[dict]:
    """Return the claims in canonical form, or refuse them keyed by index, as DRF reports list errors."""
    context = ClaimContext(incident)
    errors, cleaned, seen = {}, [], set()
    for index, claim in enumerate(claims):
        try:
            cleaned.append(context.canonical(claim))
        except serializers.ValidationError as exc:
            errors[index] = exc.detail
            continue
        key = (cleaned[-1]["chain"], cleaned[-1]["tx_hash"], cleaned[-1].get("log_index"))
        if key in seen:
            errors[index] = {"tx_hash": [_("This transfer is already claimed above.")]}
        seen.add(key)
    if errors:
        raise serializers.ValidationError({"claims": errors})
    return cleaned


class ClaimContext:
    """The chains and assets of one incident, against which claims are checked."""

    def __init__(self, incident: Incident):
        self.chains = set(incident.chains.values_list("caip2", flat=True))
        self.assets = {(chain, symbol.upper()): symbol
                       for chain, symbol in incident.assets.values_list("chain", "symbol")}

    def canonical(self, claim: dict) -> dict:
        chain = claim["chain"]
        if chain not in self.chains:
            known = ", ".join(sorted(self.chains)) or "none"
            raise serializers.ValidationError(
                {"chain": [_("Not a chain of this incident (known: %(known)s).") % {"known": known}]})
        claim = {**claim, "tx_hash": self._chain_value(normalise_tx_hash, chain, claim["tx_hash"], "tx_hash")}
        if claim.get("from_address"):
            claim["from_address"] = self._chain_value(normalise_address, chain, claim["from_address"],
                                                      "from_address")
        if claim.get("asset"):
            claim["asset"] = self._asset(chain, claim["asset"])
        return claim

    @staticmethod
    def _chain_value(normalise, chain: str, value: str, field: str) -> str:
        error = chain_value_error(field=field, chain=chain, value=value)
        if error is not None:  # the message never repeats the value: it may be a key pasted by mistake
            raise serializers.ValidationError({field: error.messages})
        return normalise(chain, value)

    def _asset(self, chain: str, symbol: str) -> str:
        known = self.assets.get((chain, symbol.upper()))
        if known is None:
            names = ", ".join(sorted(name for (on, _), name in self.assets.items() if on == chain))
            raise serializers.ValidationError({"asset": [
                _("Not an asset of this incident on %(chain)s (known: %(known)s).")
                % {"chain": chain, "known": names or "none"}]})
        return known


class EvidenceUploadSerializer(StrictInput):
    """A file for one of your reports; its type is checked by content, not by name."""

    kind = serializers.ChoiceField(choices=EvidenceKind.choices, error_messages=CHOICE_ERRORS)
    file = serializers.FileField(max_length=255, allow_empty_file=False)


# --- Read back -------------------------------------------------------------------------------


class ClaimSerializer(serializers.ModelSerializer):
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Claim
        fields = ["id", "kind", "chain", "tx_hash", "log_index", "asset", "amount", "from_address",
                  "to_address", "status", "reasons", "block_number", "block_time", "usd_value", "settled",
                  "checked_at"]
        read_only_fields = fields


class EvidenceSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Evidence
        fields = ["id", "kind", "original_name", "size", "sha256", "detected_type", "created_at",
                  "download_url"]
        read_only_fields = fields

    def get_download_url(self, evidence) -> str:
        return absolute(self.context.get("request"),
                        reverse("incidents:api-evidence-download", kwargs={"evidence_id": evidence.pk}))


# One of verification's stored check results (read through hooks.check_results): a plain serializer,
# since incidents may not import verification's model. No docstring: it would enter the schema.
class CheckSerializer(serializers.Serializer):
    check = serializers.CharField(source="check_name", read_only=True)
    outcome = serializers.ChoiceField(choices=Outcome.choices, read_only=True)
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)
    subject = serializers.SerializerMethodField(help_text="What was checked: the report, a claim or a file.")
    subject_id = serializers.SerializerMethodField(help_text="Id of that claim or file; null for the report.")
    checked_at = serializers.DateTimeField(source="finished_at", read_only=True)

    def get_subject(self, result) -> str:
        return "claim" if result.claim_id else "evidence" if result.evidence_id else "report"

    def get_subject_id(self, result) -> int | None:
        return result.claim_id or result.evidence_id


class ReportSummarySerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    incident = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    exchange = serializers.SlugRelatedField(slug_field="name", read_only=True, allow_null=True)
    flags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Report
        fields = ["id", "url", "incident", "exchange", "status", "tier", "flags", "claimed_loss_usd",
                  "verified_loss_usd", "source", "submitted_at", "decided_at"]
        read_only_fields = fields

    def get_url(self, report) -> str:
        return absolute(self.context.get("request"),
                        reverse("incidents:api-report-detail", kwargs={"report_id": report.pk}))


class ReportSerializer(ReportSummarySerializer):
    contact_email = serializers.CharField(read_only=True, help_text="Empty when the report names none.")
    exchange_email = serializers.CharField(read_only=True,
                                           help_text="Private; empty when the report names none.")
    claims = ClaimSerializer(many=True, read_only=True)
    evidence = EvidenceSerializer(many=True, read_only=True)
    checks = CheckSerializer(many=True, read_only=True, source="check_results")

    class Meta(ReportSummarySerializer.Meta):
        fields = [*ReportSummarySerializer.Meta.fields, "loss_date", "contact_email", "exchange_email",
                  "support_ticket_id", "police_report", "notes", "consent_publish", "reporter_name",
                  "consent_law_enforcement", "claims", "evidence", "checks"]
        read_only_fields = fields


def absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request else path
