from django.urls import path

from incidents import api, views, wizard

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("incidents/<slug:slug>/", views.incident_detail, name="detail"),
    # The reporter's journey (login required; every report and file is the owner's only).
    path("reports/", views.my_reports, name="my-reports"),
    path("reports/new/", wizard.draft_start, name="draft-start"),
    path("reports/drafts/<int:draft_id>/discard/", wizard.draft_discard, name="draft-discard"),
    path("reports/drafts/<int:draft_id>/<slug:step>/", wizard.draft_step, name="draft-step"),
    path("reports/drafts/<int:draft_id>/uploads/<int:upload_id>/remove/", wizard.draft_upload_remove,
         name="draft-upload-remove"),
    path("reports/check-tx/", wizard.tx_hash_check, name="tx-hash-check"),
    path("reports/<int:report_id>/", views.report_detail, name="report-detail"),
    path("reports/<int:report_id>/checks/", views.report_checks, name="report-checks"),
    path("reports/<int:report_id>/evidence/", views.report_evidence_add, name="report-evidence-add"),
    path("reports/<int:report_id>/answer/", views.report_answer, name="report-answer"),
    path("reports/<int:report_id>/withdraw/", views.report_withdraw, name="report-withdraw"),
    path("reports/<int:report_id>/take-over/", views.report_take_over, name="report-take-over"),
    path("evidence/<int:evidence_id>/download/", views.evidence_download, name="evidence-download"),
    path("evidence/<int:evidence_id>/preview/", views.evidence_preview, name="evidence-preview"),
    # API for reporters (token or session authentication).
    path("api/v1/reports/", api.ReportListCreate.as_view(), name="api-report-list"),
    path("api/v1/reports/<int:report_id>/", api.ReportDetail.as_view(), name="api-report-detail"),
    path("api/v1/reports/<int:report_id>/evidence/", api.ReportEvidence.as_view(),
         name="api-report-evidence"),
    path("api/v1/evidence/<int:evidence_id>/download/", api.EvidenceDownload.as_view(),
         name="api-evidence-download"),
]
