"""The OpenAPI schema and its documentation pages, for anyone signed in who works with the API."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from .access import Work


class _Documented:
    # The schema describes the API, no citizen's data: everyone who may use the records' API may read it.
    access_work = Work.CITIZENS


class Schema(_Documented, SpectacularAPIView):
    pass


class Swagger(_Documented, SpectacularSwaggerSplitView):
    """Swagger UI with its start-up script as a file of its own, so the Content-Security-Policy needs
    no inline script."""


class Redoc(_Documented, SpectacularRedocView):
    pass


app_name = "api"

urlpatterns = [
    path("schema/", Schema.as_view(), name="schema"),
    path("docs/", Swagger.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", Redoc.as_view(url_name="api:schema"), name="redoc"),
]
