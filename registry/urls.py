from django.urls import path

from registry import api, views

app_name = "registry"

urlpatterns = [
    path("incidents/<slug:slug>/releases/", views.release_list, name="release-list"),
    path("incidents/<slug:slug>/releases/<int:number>/<str:name>", views.release_file, name="release-file"),
    path("api/v1/incidents/<slug:slug>/releases/", api.ReleaseList.as_view(), name="api-release-list"),
    path("api/v1/incidents/<slug:slug>/register/", api.RegisterRows.as_view(), name="api-register"),
]
