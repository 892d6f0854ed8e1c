from django.urls import path

from moderation import views

app_name = "moderation"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("queue.csv", views.queue_csv, name="queue-csv"),
    path("assign/", views.assign, name="assign"),
    path("tag/", views.tag, name="tag"),
    path("reports/<int:report_id>/", views.review, name="review"),
    path("reports/<int:report_id>/claim/", views.claim, name="claim"),
    path("reports/<int:report_id>/release/", views.release, name="release"),
    path("reports/<int:report_id>/decide/", views.decide, name="decide"),
    path("reports/<int:report_id>/flags/", views.flag_resolve, name="flag-resolve"),
    path("reports/<int:report_id>/bind/", views.bind, name="bind"),
    path("reports/<int:report_id>/merge/", views.merge, name="merge"),
    path("reports/<int:report_id>/decisions/<int:decision_id>/confirm/", views.confirm, name="confirm"),
    path("reports/<int:report_id>/decisions/<int:decision_id>/send-back/", views.send_back, name="send-back"),
    path("evidence/<int:evidence_id>/", views.evidence, name="evidence"),
    path("evidence/<int:evidence_id>/preview/", views.evidence_preview, name="evidence-preview"),
    path("evidence/<int:evidence_id>/download/", views.evidence_download, name="evidence-download"),
]
