"""Reporter API (placeholder until issue 6's API lands)."""

from rest_framework.views import APIView


class ReportListCreate(APIView):
    pass


class ReportDetail(APIView):
    pass


class ReportEvidence(APIView):
    pass
