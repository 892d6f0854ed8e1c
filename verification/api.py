"""Liaison API: an exchange's liaison lists the tickets cited for their exchange and answers."""

from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from incidents.models import AttestationAnswer
from verification.evidence import EvidenceRefused, ticket_attest
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


class LiaisonTicketList(APIView):
    permission_classes = [IsAuthenticated, IsLiaison]

    def get(self, request):
        return Response(TicketSerializer(liaison_tickets(user=request.user), many=True).data)


class LiaisonTicketAnswer(APIView):
    permission_classes = [IsAuthenticated, IsLiaison]

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
