"""GET /api/v1/incidents/SLUG/stats/: the public stats of a published incident (the dashboard's numbers)."""

import hashlib

from django.shortcuts import get_object_or_404
from django.utils.http import http_date
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ParseError, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import ErrorSerializer
from dashboards.forms import FilterForm
from dashboards.selectors import can_preview, picture_filtered, picture_preview, picture_public
from incidents.models import Incident
from registry.stats import TooFewReports

MONEY = {name: serializers.DecimalField(max_digits=20, decimal_places=2, coerce_to_string=True)
         for name in ("claimed_loss_usd", "verified_loss_usd")}
FOLDED = "Present (true) on the one row summing the groups of fewer than 5 reports; that row has no key."


def _row(name: str, keys: dict, doc: str) -> type[serializers.Serializer]:
    fields = {**keys, "other": serializers.BooleanField(required=False, help_text=FOLDED),
              "reports": serializers.IntegerField(), **MONEY}
    return type(name, (serializers.Serializer,), {**fields, "__doc__": doc})


def _text(help_text: str) -> serializers.CharField:
    return serializers.CharField(required=False, allow_null=True, help_text=help_text)


ExchangeRow = _row("ExchangeRow", {"exchange": _text("Exchange name; null when the report names none.")},
                   "Reports naming one exchange.")
AssetRow = _row("AssetRow", {"asset": _text("Asset of the report's largest claim; null when none.")},
                "Reports by the asset of their largest claim.")
DayRow = _row("DayRow", {"day": _text("UTC date (YYYY-MM-DD) of the report's earliest proven transfer.")},
              "Reports by day.")
AddressRow = _row("AddressRow", {"chain": _text("CAIP-2 chain id."), "address": _text("Attacker address.")},
                  "An attacker address: reports with a verified transfer to it, and the verified inflow.")


class TicketsSerializer(serializers.Serializer):
    cited = serializers.IntegerField(help_text="Reports citing a support-ticket id.")
    verified = serializers.IntegerField(help_text="Of which the ticket mail is DKIM-verified.")
    dkim_verified = serializers.IntegerField(help_text="The same count, under the dashboard's name.")
    attested = serializers.IntegerField(help_text="Of which the exchange's liaison attested the ticket.")
    denied = serializers.IntegerField(help_text="Of which the exchange's liaison denied the ticket.")


class FunnelSerializer(serializers.Serializer):
    imported = serializers.IntegerField()
    checked = serializers.IntegerField()
    loss_proven = serializers.IntegerField()
    decided_verified = serializers.IntegerField()


ResponseRow = type("ExchangeResponseRow", (serializers.Serializer,), {
    "exchange": _text("Exchange name (absent on the folded row)."),
    "other": serializers.BooleanField(required=False, help_text=FOLDED),
    **{name: serializers.IntegerField()
       for name in ("reports", "cited", "dkim_verified", "attested", "denied")},
    "answered_share": serializers.DecimalField(max_digits=3, decimal_places=2, coerce_to_string=True)})


class StatsSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField(allow_null=True, help_text="The release's time (or the preview's).")
    release = serializers.IntegerField(allow_null=True, help_text="Release number; null before the first "
                                                                  "release and in the live preview.")
    preview = serializers.BooleanField(help_text="True for the journalists' embargoed live numbers.")
    reports = serializers.IntegerField()
    claimed_loss_usd = MONEY["claimed_loss_usd"]
    verified_loss_usd = MONEY["verified_loss_usd"]
    by_tier = serializers.DictField(child=serializers.IntegerField(), help_text="Reports per tier T0-T4.")
    by_status = serializers.DictField(child=serializers.IntegerField(), help_text="Reports per status.")
    by_exchange = ExchangeRow(many=True)
    by_asset = AssetRow(many=True)
    by_day = DayRow(many=True)
    attacker_addresses = AddressRow(many=True)
    tickets = TicketsSerializer()
    police_reports = serializers.IntegerField(help_text="Reports citing a police report.")
    contested_reports = serializers.IntegerField(help_text="Reports flagged tx_contested.")
    bound_reports = serializers.IntegerField(help_text="Reports with a transfer bound to them.")
    funnel = FunnelSerializer(help_text="Rows of the imported sheet, followed to their fate.")
    exchange_responses = ResponseRow(many=True)


FILTERS = [OpenApiParameter(name, OpenApiTypes.STR, description=text) for name, text in [
    ("min_tier", "Only reports at this tier or above (T0-T4)."), ("status", "Only reports with this status."),
    ("exchange", "Only reports naming this exchange (one the unfiltered stats name)."),
    ("asset", "Only reports whose largest claim is in this asset (one the unfiltered stats name)."),
    ("since", "Only reports whose transfer day is on or after this date (YYYY-MM-DD)."),
    ("until", "Only reports whose transfer day is on or before this date (YYYY-MM-DD)."),
    ("source", "Only reports from this source: sheet, web or api."),
    ("release", "Read this release instead of the latest one."),
    ("preview", "1: the live, embargoed numbers (journalists and moderators only).")]]


TOO_FEW = "Fewer than 5 reports match these filters: not shown."


class IncidentStats(APIView):
    """The public stats of a published incident: its latest release, frozen, or a live preview."""

    permission_classes = [AllowAny]

    @extend_schema(tags=["register"], summary="Read a published incident's statistics", parameters=FILTERS,
                   responses={200: StatsSerializer, 400: OpenApiResponse(ErrorSerializer, "Bad filters, or "
                              "fewer than 5 reports match them."), 403: ErrorSerializer,
                              404: OpenApiResponse(ErrorSerializer, "No published incident or release.")})
    def get(self, request, slug: str):
        incident = get_object_or_404(Incident.objects.published(), slug=slug)
        picture = self._picture(request, incident)
        form = FilterForm(request.query_params, stats=picture.stats)
        if not form.is_valid():
            errors = {name: [str(e) for e in messages] for name, messages in form.errors.items()}
            return Response({"detail": "Some filters are not valid.", "errors": errors}, status=400)
        try:
            stats = picture_filtered(picture=picture, filters=form.filters())
        except TooFewReports:
            return Response({"detail": TOO_FEW}, status=400)
        version = f"{picture.version}|{request.GET.urlencode()}".encode()
        etag = f'"{hashlib.sha256(version).hexdigest()[:32]}"'
        response = Response(status=304) if request.headers.get("If-None-Match") == etag else Response(stats)
        response["ETag"] = etag
        response["Cache-Control"] = "private, no-store" if picture.preview else "public, max-age=60"
        if picture.built_at:
            response["Last-Modified"] = http_date(picture.built_at.timestamp())
        return response

    def _picture(self, request, incident):
        if request.query_params.get("preview") == "1":
            if not can_preview(request.user):
                raise PermissionDenied("The live preview is for signed-in journalists and moderators.")
            return picture_preview(incident=incident)
        number = request.query_params.get("release", "")
        if number and not number.isdigit():
            raise ParseError("A release number is a positive whole number.")
        picture = picture_public(incident=incident, number=int(number) if number else None)
        if number and picture.release is None:
            raise NotFound("This incident has no such release.")
        return picture
