from django.urls import path

from . import views

app_name = "coordination"

urlpatterns = [
    # Registering a citizen: here, not in patients, because a citizen another team follows becomes a
    # referral to that team (services.citizen_register). patients.urls has no "new/", so this answers.
    path("patients/new/", views.citizen_register, name="citizen_register"),
    path("patients/<uuid:public_id>/encounters/new/", views.encounter_create, name="encounter_create"),
    path(
        "patients/<uuid:public_id>/encounters/new/actions/<int:index>/",
        views.encounter_action_row,
        name="encounter_action_row",
    ),
    # A draft's form and its signing: here, not in patients, because signing turns the planned agreed
    # actions into tasks (services.encounter_sign).
    path("encounters/<uuid:public_id>/edit/", views.encounter_edit, name="encounter_edit"),
    path("encounters/<uuid:public_id>/sign/", views.encounter_sign, name="encounter_sign"),
    path("patients/<uuid:public_id>/coordination/", views.patient_panel, name="patient_panel"),
    path("patients/<uuid:public_id>/briefing/", views.briefing, name="briefing"),
    # Booking from a care gap: the citizen's open gap under the rule (one at most), by the rule's code.
    path("patients/<uuid:public_id>/care-gaps/<slug:rule_code>/book/", views.care_gap_book, name="care_gap_book"),
    path("worklist/", views.worklist, name="worklist"),
    path("tasks/", views.my_tasks, name="my_tasks"),
    path("tasks/board/", views.team_board, name="board"),
    path("tasks/board/<str:status>/", views.board_column, name="board_column"),
    path("tasks/workload/", views.workload, name="workload"),
    path("tasks/workload/<uuid:team_public_id>/<str:member_key>/", views.hand_on, name="hand_on"),
    path("tasks/new/", views.task_create, name="task_create"),
    path("tasks/<uuid:public_id>/", views.task_detail, name="task"),
    path("tasks/<uuid:public_id>/status/", views.task_status, name="task_status"),
    path("tasks/<uuid:public_id>/assign/", views.task_assign, name="task_assign"),
    path("tasks/<uuid:public_id>/comments/", views.task_comment, name="task_comment"),
    path("referrals/", views.referral_list, name="referrals"),
    path("referrals/new/", views.referral_create, name="referral_create"),
    path("referrals/<uuid:public_id>/", views.referral_detail, name="referral"),
    path("handovers/<uuid:public_id>/acknowledge/", views.handover_acknowledge, name="handover_acknowledge"),
    path("news/", views.news, name="news"),
    path("news/badge/", views.news_badge, name="news_badge"),
]
