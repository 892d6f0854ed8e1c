"""Evidence API: liaisons answer on tickets of their exchange; reporters prove ownership."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import error_responses
from incidents.models import AttestationAnswer, Report, Tier
from verification.evidence import (
    EvidenceRefused,
    leaked_key_submit,
    ownership_prove,
    report_challenge,
    ticket_attest,
)
from verification.models import Outcome
from verification.selectors import liaison_tickets


class IsLiaison(BasePermission):
    message = "Only an exchange liaison bound to an exchange may use this endpoint."

    def has_permission(self, request, view) -> bool:
        return hasattr(request.user, "liaison")


class TicketSerializer(serializers.Serializer):
    report = serializers.IntegerField(source="pk")
    ticket_id = serializers.CharField(source="support_ticket_id")
    submitted_at = serializers.DateTimeField()
    answer = serializers.SerializerMethodField()

    def get_answer(self, report) -> str | None:
        latest = next(iter(report.attestations.all()), None)
        return latest.answer if latest else None


class AnswerSerializer(serializers.Serializer):
    answer = serializers.ChoiceField(choices=AttestationAnswer.choices)


class AttestationSerializer(serializers.Serializer):
    report = serializers.IntegerField()
    ticket_id = serializers.CharField()
    answer = serializers.ChoiceField(choices=AttestationAnswer.choices)
    answered_at = serializers.DateTimeField()


class LiaisonTicketList(APIView):
    permission_classes = [IsAuthenticated, IsLiaison]

    @extend_schema(tags=["liaison"], summary="List the tickets cited for your exchange",
                   responses={200: TicketSerializer(many=True), **error_responses(403)})
    def get(self, request):
        return Response(TicketSerializer(liaison_tickets(user=request.user), many=True).data)


class LiaisonTicketAnswer(APIView):
    permission_classes = [IsAuthenticated, IsLiaison]

    @extend_schema(tags=["liaison"], summary="Attest or deny a ticket cited for your exchange",
                   request=AnswerSerializer,
                   responses={201: AttestationSerializer, **error_responses(400, 403, 404)})
    def post(self, request, report_id: int):
        report = get_object_or_404(liaison_tickets(user=request.user), pk=report_id)
        payload = AnswerSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            attestation = ticket_attest(liaison=request.user, report=report,
                                        answer=payload.validated_data["answer"])
        except EvidenceRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        body = {"report": report.pk, "ticket_id": attestation.ticket_id, "answer": attestation.answer,
                "answered_at": attestation.answered_at}
        return Response(body, status=status.HTTP_201_CREATED)


class OwnershipProofSerializer(serializers.Serializer):
    address = serializers.RegexField(r"^0x[0-9a-fA-F]{40}$")
    signature = serializers.RegexField(r"^0x[0-9a-fA-F]{130}$")


class LeakedKeySerializer(serializers.Serializer):
    # The SHA-256 of the public key id, made in the reporter's browser; never the key itself.
    key_hash = serializers.RegexField(r"^[0-9a-fA-F]{64}$")


class ChallengeSerializer(serializers.Serializer):
    address = serializers.CharField()
    challenge = serializers.CharField(help_text="The exact text to sign with the address (EIP-191).")


class CheckOutcomeSerializer(serializers.Serializer):
    check = serializers.CharField()
    outcome = serializers.ChoiceField(choices=Outcome.choices)
    reasons = serializers.ListField(child=serializers.CharField())
    tier = serializers.ChoiceField(choices=Tier.choices, help_text="The report's tier after this check.")


def _own_report(request, report_id: int):
    """Return the caller's own active report, or 404 (never 403: others' reports do not exist)."""
    return get_object_or_404(Report.objects.active(), pk=report_id, reporter=request.user)


def _result_body(result) -> dict:
    return {"check": result.check_name, "outcome": result.outcome, "reasons": result.reasons,
            "tier": result.report.tier}


class OwnershipChallengeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["ownership"], summary="Get the text to sign to prove you own an address",
                   parameters=[OpenApiParameter("address", OpenApiTypes.STR, required=True,
                                                pattern=r"^0x[0-9a-fA-F]{40}$")],
                   responses={200: ChallengeSerializer, **error_responses(404),
                              400: OpenApiResponse({"type": "array", "items": {"type": "string"}},
                                                   "The address is missing or not an EVM address.")})
    def get(self, request, report_id: int):
        report = _own_report(request, report_id)
        field = OwnershipProofSerializer().fields["address"]
        address = field.run_validation(request.query_params.get("address"))
        challenge = report_challenge(report=report, address=address)
        return Response({"address": address.lower(), "challenge": challenge})


class OwnershipProofView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["ownership"], summary="Prove you own an address with a signed challenge",
                   request=OwnershipProofSerializer,
                   responses={201: CheckOutcomeSerializer, **error_responses(400, 404)})
    def post(self, request, report_id: int):
        report = _own_report(request, report_id)
        payload = OwnershipProofSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        result = ownership_prove(report=report, **payload.validated_data)
        result.report.refresh_from_db()
        return Response(_result_body(result), status=status.HTTP_201_CREATED)


class LeakedKeyView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(tags=["ownership"], summary="Check your leaked API key's id hash against the leak",
                   request=LeakedKeySerializer,
                   responses={201: CheckOutcomeSerializer, **error_responses(400, 404)})
    def post(self, request, report_id: int):
        report = _own_report(request, report_id)
        payload = LeakedKeySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        result = leaked_key_submit(report=report, key_hash=payload.validated_data["key_hash"])
        result.report.refresh_from_db()
        return Response(_result_body(result), status=status.HTTP_201_CREATED)
