from django.urls import path

from verification import api, views

app_name = "verification"

urlpatterns = [
    path("liaison/tickets/", views.liaison_ticket_list, name="liaison-tickets"),
    path("liaison/tickets/<int:report_id>/answer/", views.liaison_ticket_answer, name="liaison-answer"),
    path("evidence/<int:evidence_id>/mail/", views.evidence_mail, name="evidence-mail"),
    path("reports/<int:report_id>/ownership/", views.report_ownership, name="report-ownership"),
    path("api/v1/reports/<int:report_id>/ownership/challenge/", api.OwnershipChallengeView.as_view(),
         name="api-ownership-challenge"),
    path("api/v1/reports/<int:report_id>/ownership/proof/", api.OwnershipProofView.as_view(),
         name="api-ownership-proof"),
    path("api/v1/reports/<int:report_id>/ownership/leaked-key/", api.LeakedKeyView.as_view(),
         name="api-leaked-key"),
    path("api/v1/liaison/tickets/", api.LiaisonTicketList.as_view(), name="api-liaison-tickets"),
    path("api/v1/liaison/tickets/<int:report_id>/answer/", api.LiaisonTicketAnswer.as_view(),
         name="api-liaison-answer"),
]
