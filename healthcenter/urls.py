from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .accounts.views import SignInView

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", SignInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("healthcenter.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("patients/", include("patients.urls")),
    path("", include("coordination.urls")),
    path("", include("scheduling.urls")),
    path("reporting/", include("reporting.urls")),
    # The API (issue 12): each app's resources under /api/v1/ (namespace api-<app>), the schema and its
    # documentation (healthcenter/api_docs.py), FHIR R4 under /fhir/.
    path("api/", include("healthcenter.api_docs")),
    path("api/v1/", include("patients.api")),
    path("api/v1/", include("scheduling.api")),
    path("api/v1/", include("reporting.api")),
    path("api/v1/", include("coordination.api")),
    path("fhir/", include("fhirserver.urls")),
    path("admin/", admin.site.urls),
]

# A database outage met outside a view gets the 503 page; any other error the plain 500 page.
handler500 = "healthcenter.outage.server_error"
