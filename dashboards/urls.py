from django.urls import path

from dashboards import api, feeds, views

app_name = "dashboards"

urlpatterns = [
    path("incidents/<slug:slug>/", views.dashboard, name="dashboard"),
    path("incidents/<slug:slug>/charts/<slug:chart>/", views.chart_page, name="chart-page"),
    path("incidents/<slug:slug>/charts/<slug:chart>/embed/", views.chart_embed, name="chart-embed"),
    path("incidents/<slug:slug>/charts/<slug:chart>.<slug:fmt>", views.chart_file, name="chart-file"),
    path("incidents/<slug:slug>/releases/<int:number>/", views.release_detail, name="release-detail"),
    path("incidents/<slug:slug>/releases.atom", feeds.ReleaseFeed(), name="release-feed"),
    path("methodology/", views.methodology, name="methodology"),
    path("api/v1/incidents/<slug:slug>/stats/", api.IncidentStats.as_view(), name="api-stats"),
]
