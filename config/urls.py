from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

# The admin signs in through allauth: its throttles and the second factor apply there too.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the footer's language switch
    path("accounts/", include("allauth.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file, so the CSP needs no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("", include("operations.urls")),
    path("moderation/", include("moderation.urls")),
    path("", include("verification.urls")),
    path("", include("dashboards.urls")),  # before incidents: the dashboard is an incident's landing page
    path("", include("registry.urls")),
    path("", include("incidents.urls")),
]

# Renders without the database, and answers 503 when the database is the problem.
handler500 = "config.views.server_error"
