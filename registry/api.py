"""Public read API of published releases: their list, and the latest register as JSON."""

from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny

from incidents.models import Incident
from registry.models import Release, ReleaseRow


class ReleaseSerializer(serializers.ModelSerializer):
    files = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = ["number", "created_at", "manifest_sha256", "public_key_b64", "report_count", "claim_count",
                  "files", "changelog"]

    def get_files(self, release) -> dict:
        return release.manifest.get("files", {})


class RegisterPage(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


def published_incident(slug: str) -> Incident:
    return get_object_or_404(Incident.objects.published(), slug=slug)


class ReleaseList(ListAPIView):
    """Every release of a published incident, newest first, with file hashes and the public key."""

    permission_classes = [AllowAny]
    authentication_classes = []
    serializer_class = ReleaseSerializer
    pagination_class = None

    def get_queryset(self):
        return Release.objects.filter(incident=published_incident(self.kwargs["slug"])).order_by("-number")


class RegisterRows(ListAPIView):
    """The latest release's register rows, filterable by tier, status and exchange."""

    permission_classes = [AllowAny]
    authentication_classes = []
    pagination_class = RegisterPage

    def get_queryset(self):
        incident = published_incident(self.kwargs["slug"])
        release = Release.objects.filter(incident=incident).order_by("-number").first()
        rows = ReleaseRow.objects.filter(release=release) if release else ReleaseRow.objects.none()
        for field in ("tier", "status", "exchange"):
            value = self.request.query_params.get(field)
            if value:
                rows = rows.filter(**{field: value})
        return rows.order_by("id")

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset().values_list("data", flat=True))
        return self.get_paginated_response(list(page))
