from django.urls import path

from . import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.Metadata.as_view(), name="metadata"),
    path("Patient", views.PatientSearch.as_view(), name="patient-search"),
    path("Patient/_search", views.PatientSearchByPost.as_view(), name="patient-search-post"),
    path("Patient/<str:public_id>", views.PatientRead.as_view(), name="patient"),
    path("Patient/<str:public_id>/$everything", views.PatientEverything.as_view(), name="patient-everything"),
    path("AuditEvent", views.AuditEventSearch.as_view(), name="auditevent-search"),
]
for _kind in views.KINDS.values():
    _name = _kind.name.lower()
    urlpatterns += [
        path(_kind.name, views.search_view(_kind).as_view(), name=f"{_name}-search"),
        path(f"{_kind.name}/<str:public_id>", views.read_view(_kind).as_view(), name=_name),
    ]
