from django.urls import path

from verification import api, views

app_name = "verification"

urlpatterns = [
    path("liaison/tickets/", views.liaison_ticket_list, name="liaison-tickets"),
    path("liaison/tickets/<int:report_id>/answer/", views.liaison_ticket_answer, name="liaison-answer"),
    path("evidence/<int:evidence_id>/mail/", views.evidence_mail, name="evidence-mail"),
    path("api/v1/liaison/tickets/", api.LiaisonTicketList.as_view(), name="api-liaison-tickets"),
    path("api/v1/liaison/tickets/<int:report_id>/answer/", api.LiaisonTicketAnswer.as_view(),
         name="api-liaison-answer"),
]
