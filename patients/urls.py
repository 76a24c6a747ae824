from django.urls import path

from . import lab_views, views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("access-log-export/", views.access_log_export, name="access_log_export"),
    path("lab-import/", lab_views.lab_import_upload, name="lab_import"),
    path("lab-import/<uuid:import_id>/", lab_views.lab_import_detail, name="lab_import_detail"),
    path("lab-import/<uuid:import_id>/progress/", lab_views.lab_import_progress, name="lab_import_progress"),
    path("lab-import/<uuid:import_id>/errors.csv", lab_views.lab_import_report, name="lab_import_report"),
    path("<uuid:public_id>/", views.patient_detail, name="detail"),
    path("<uuid:public_id>/edit/", views.patient_edit, name="edit"),
    path("<uuid:public_id>/timeline/", views.patient_timeline_page, name="timeline"),
    path("<uuid:public_id>/history/", views.patient_history_view, name="history"),
    path("<uuid:public_id>/access-log/", views.patient_access_log, name="access_log"),
    path("<uuid:public_id>/goals/new/", views.goal_create, name="goal_create"),
    path("<uuid:public_id>/relatives/new/", views.relative_add, name="relative_add"),
    path("<uuid:public_id>/consents/new/", views.consent_give, name="consent_give"),
    path("<uuid:public_id>/conditions/new/", views.condition_add, name="condition_add"),
    path("<uuid:public_id>/enrolments/new/", views.enrolment_create, name="enrolment_create"),
    path("<uuid:public_id>/measurements/new/", views.measurement_add, name="measurement_add"),
    path("encounters/<uuid:public_id>/amend/", views.encounter_amend, name="encounter_amend"),
    path("measurements/<uuid:public_id>/correct/", views.measurement_correct, name="measurement_correct"),
    path("goals/<uuid:public_id>/edit/", views.goal_edit, name="goal_edit"),
    path("consents/<uuid:public_id>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("enrolments/<uuid:public_id>/end/", views.enrolment_end, name="enrolment_end"),
]
