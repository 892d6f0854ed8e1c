"""Reporter API: file a report with its claims, follow it, add evidence, withdraw it."""

from django.conf import settings
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from accounts.models import Role
from config.api import error_responses
from incidents import hooks
from incidents.models import Claim, Evidence, Report, ReportSource
from incidents.secrets import SecretRefused
from incidents.selectors import report_list_for_reporter
from incidents.serializers import (
    EvidenceSerializer,
    EvidenceUploadSerializer,
    ReportCreateSerializer,
    ReportSerializer,
    ReportSummarySerializer,
)
from incidents.services import evidence_attach, report_create, report_withdraw
from incidents.throttles import ReporterWriteThrottle
from incidents.uploads import EvidenceFileError, upload_too_large
from incidents.views import evidence_attachment

TAG = "reports"


class IsReporterToWrite(BasePermission):
    message = _("Only reporters may file reports, add evidence or withdraw (issue_token --role reporter).")

    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or getattr(request.user, "role", None) == Role.REPORTER


class ReportPage(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class BodyTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request body is larger than this endpoint accepts.")
    default_code = "too_large"


class ReporterView(GenericAPIView):
    permission_classes = [IsAuthenticated, IsReporterToWrite]
    throttle_classes = [ReporterWriteThrottle]

    def initial(self, request, *args, **kwargs):
        # Before authentication: a session login's CSRF check would already read the body.
        if self.body_too_large(request):
            raise BodyTooLarge()
        super().initial(request, *args, **kwargs)

    def body_too_large(self, request) -> bool:
        # DRF's JSON parser reads a body of any size: bound it as Django bounds form data.
        try:
            return int(request.META.get("CONTENT_LENGTH") or 0) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        except ValueError:
            return False  # Django reads no body from a request with an unreadable length

    def own_reports(self):
        # Withdrawn and other people's reports do not exist for the caller: 404, never 403.
        return report_list_for_reporter(user=self.request.user)

    def own_report(self, report_id: int, *, details: bool = False) -> Report:
        reports = self.own_reports()
        if details:
            reports = reports.prefetch_related(
                Prefetch("claims", Claim.objects.order_by("id")),
                Prefetch("evidence", Evidence.objects.order_by("id")),
                Prefetch("check_results", hooks.check_results().order_by("id")))
        report = reports.filter(pk=report_id).first()
        if report is None:
            raise NotFound(_("None of your reports has this id."))
        return report

    def report_body(self, report_id: int) -> dict:
        report = self.own_report(report_id, details=True)
        return ReportSerializer(report, context={"request": self.request}).data


class ReportListCreate(ReporterView):
    serializer_class = ReportCreateSerializer  # also describes the POST fields to OPTIONS requests
    parser_classes = [JSONParser]
    pagination_class = ReportPage

    @extend_schema(tags=[TAG], summary="List your reports, newest first",
                   responses={200: ReportSummarySerializer(many=True), **error_responses(404)})
    def get(self, request):
        page = self.paginate_queryset(self.own_reports())
        body = ReportSummarySerializer(page, many=True, context={"request": request}).data
        return self.get_paginated_response(body)

    @extend_schema(tags=[TAG], summary="File a report with its claims",
                   request=ReportCreateSerializer,
                   responses={201: ReportSerializer, **error_responses(400, 403, 413, 429)})
    def post(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        fields = {"contact_email": request.user.email, **payload.validated_data}
        report = report_create(source=ReportSource.API, reporter=request.user, **fields)
        return Response(self.report_body(report.pk), status=status.HTTP_201_CREATED)


class ReportDetail(ReporterView):
    serializer_class = ReportSerializer

    @extend_schema(tags=[TAG], summary="Read one of your reports with its claims, files and checks",
                   responses={200: ReportSerializer, **error_responses(404)})
    def get(self, request, report_id: int):
        return Response(self.report_body(report_id))

    @extend_schema(tags=[TAG], summary="Withdraw one of your reports: it is erased with its files",
                   responses={204: None, **error_responses(403, 404, 429)})
    def delete(self, request, report_id: int):
        report_withdraw(report=self.own_report(report_id), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReportEvidence(ReporterView):
    serializer_class = EvidenceUploadSerializer
    parser_classes = [MultiPartParser]

    def body_too_large(self, request) -> bool:
        return upload_too_large(request)

    @extend_schema(tags=[TAG], summary="List the files attached to one of your reports",
                   responses={200: EvidenceSerializer(many=True), **error_responses(404)})
    def get(self, request, report_id: int):
        evidence = self.own_report(report_id).evidence.order_by("id")
        return Response(EvidenceSerializer(evidence, many=True, context={"request": request}).data)

    @extend_schema(tags=[TAG], summary="Attach a file to one of your reports",
                   request={"multipart/form-data": EvidenceUploadSerializer},
                   responses={201: EvidenceSerializer, **error_responses(400, 403, 404, 413, 415, 429)})
    def post(self, request, report_id: int):
        report = self.own_report(report_id)
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        upload = payload.validated_data["file"]
        try:
            evidence = evidence_attach(report=report, kind=payload.validated_data["kind"], data=upload.read(),
                                       original_name=upload.name)
        except (EvidenceFileError, SecretRefused) as exc:  # each carries its HTTP status (400 or 413)
            if exc.status == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
                raise BodyTooLarge(str(exc)) from None
            raise serializers.ValidationError({"file": [str(exc)]}) from None
        body = EvidenceSerializer(evidence, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class EvidenceDownload(ReporterView):
    """The original file of one of your reports, byte for byte, as an attachment."""

    http_method_names = ["get", "options"]  # no HEAD: it would write an audit row for nothing sent

    @extend_schema(tags=[TAG], summary="Download a file of one of your reports",
                   responses={(200, "application/octet-stream"): OpenApiTypes.BINARY,
                              **error_responses(404)})
    def get(self, request, evidence_id: int):
        evidence = Evidence.objects.filter(pk=evidence_id, report__in=self.own_reports()).first()
        if evidence is None:
            raise NotFound(_("None of your files has this id."))
        return evidence_attachment(evidence=evidence, actor=request.user)
