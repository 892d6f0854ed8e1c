"""Public read API of published releases: their list, and the latest register as JSON."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny

from config.api import ErrorSerializer
from incidents.models import Incident
from registry.methodology import REPORT_COLUMNS
from registry.models import Release, ReleaseRow


class ReleaseSerializer(serializers.ModelSerializer):
    files = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = ["number", "created_at", "manifest_sha256", "public_key_b64", "report_count", "claim_count",
                  "files", "changelog"]

    def get_files(self, release) -> dict:
        return release.manifest.get("files", {})


NOT_FOUND = OpenApiResponse(ErrorSerializer, "No published incident has this slug, or no such page.")
# One row of reports.csv, for the schema: every value is the cell's text, as in the signed file.
RegisterRowSerializer = type("RegisterRowSerializer", (serializers.Serializer,), {
    name: serializers.CharField(help_text=meaning) for name, meaning in REPORT_COLUMNS})


class RegisterPage(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def published_incident(slug: str) -> Incident:
    return get_object_or_404(Incident.objects.published(), slug=slug)


@extend_schema_view(get=extend_schema(tags=["register"], summary="List a published incident's releases",
                                      responses={200: ReleaseSerializer(many=True), 404: NOT_FOUND}))
class ReleaseList(ListAPIView):
    """Every release of a published incident, newest first, with file hashes and the public key."""

    permission_classes = [AllowAny]
    authentication_classes = []
    serializer_class = ReleaseSerializer
    pagination_class = None

    def get_queryset(self):
        return (Release.objects.filter(incident=published_incident(self.kwargs["slug"]))
                .defer("facts", "stats").order_by("-number"))


@extend_schema_view(get=extend_schema(
    tags=["register"], summary="Read the latest release's register rows",
    parameters=[OpenApiParameter(name, OpenApiTypes.STR, description=f"Only rows with this {name}.")
                for name in ("tier", "status", "exchange")],
    responses={200: RegisterRowSerializer(many=True), 404: NOT_FOUND}))
class RegisterRows(ListAPIView):
    """The latest release's register rows, filterable by tier, status and exchange."""

    permission_classes = [AllowAny]
    authentication_classes = []
    pagination_class = RegisterPage

    def get_queryset(self):
        incident = published_incident(self.kwargs["slug"])
        release = Release.objects.filter(incident=incident).only("pk").order_by("-number").first()
        rows = ReleaseRow.objects.filter(release=release) if release else ReleaseRow.objects.none()
        for field in ("tier", "status", "exchange"):
            value = self.request.query_params.get(field)
            if value:
                rows = rows.filter(**{field: value})
        return rows.order_by("id")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset().values_list("data", flat=True))
        return self.get_paginated_response(list(page))
