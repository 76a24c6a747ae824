"""Coordination in the API (issue 12): encounters with their agreed actions, signing and amendments;
tasks with their transitions and comments; referrals and their triage; handover notes; the briefing
and the worklist. The pattern is patients/api.py's:

- every view names its `access_work`; the citizen (or the task, referral, note about them) is found
  through the app's `*_for` selector, which decides the care relation and logs under the citizen,
  allowed or refused (404 outside it, as on the pages); a list writes one `access.listed` row;
- every write is the service the page calls (coordination.services, patients.services): the rules
  (who may sign, who triages, whom a task may go to) are the services', never restated here; their
  ValidationError is a 400 {code, message, fields}, a stale version a 409 (412 with If-Match), and a
  refused write leaves a rejected row under the citizen, as the pages' forms do;
- encounters and tasks carry `version` and an ETag; a change needs the version the client read.

The worklist is ranked in SQL (coordination.briefing.worklist_ranked) and paged as the page pages it
(`?page=`), since a rank is no cursor; every other list is cursor-paginated."""

import re
import uuid

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Prefetch
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from healthcenter import access
from healthcenter.access import Work
from healthcenter.api import expected_version, rejection_logged, valid_input, versioned
from healthcenter.models import AccessAction, Team, User
from patients import selectors as patient_selectors
from patients import services as patient_services
from patients.models import Encounter, EncounterKind, Patient, Programme
from scheduling import selectors as scheduling_selectors
from scheduling import services as scheduling_services
from scheduling.models import Room

from . import briefing as briefing_selectors
from . import selectors, services
from .models import (
    CareGapRule,
    HandoverAcknowledgement,
    HandoverNote,
    Referral,
    ReferralSource,
    ReferralStatus,
    Task,
    TaskPriority,
    TaskStatus,
)

try:  # the shared error body, once the platform's helper has put it in healthcenter/api.py
    from healthcenter.api import ErrorSerializer
except ImportError:  # pragma: no cover - until then, the same shape described here

    class ErrorSerializer(serializers.Serializer):
        code = serializers.CharField()
        message = serializers.CharField()
        fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


def _errors(*codes: int) -> dict:
    return dict.fromkeys(codes, ErrorSerializer)


READ_ERRORS = _errors(401, 404)
WRITE_ERRORS = _errors(400, 401, 403, 404)
VERSIONED_ERRORS = _errors(400, 401, 403, 404, 409, 412)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description='The ETag read (W/"3"); instead of "version" in the body. A stale one answers 412.',
)


# --- shared helpers ---------------------------------------------------------------------------------------


def _person(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.public_id, "name": user.get_full_name() or user.username}


PERSON = inline_serializer(
    "Person", fields={"id": serializers.UUIDField(), "name": serializers.CharField()}, allow_null=True
)


def _users(public_ids: list[uuid.UUID], *, field: str) -> list[User]:
    """People named in a body by public id; one not found is the field's error (the services decide
    whether each may be chosen)."""
    found = {u.public_id: u for u in User.objects.filter(public_id__in=public_ids)}
    missing = [str(i) for i in public_ids if i not in found]
    if missing:
        raise ValidationError({field: _("Unknown person: %(ids)s.") % {"ids": ", ".join(missing)}})
    return [found[i] for i in public_ids]


def _user(public_id: uuid.UUID | None, *, field: str) -> User | None:
    return None if public_id is None else _users([public_id], field=field)[0]


def _body(request) -> dict:
    """The JSON body as an object; a body that is none (a list, a string) has no fields."""
    return request.data if hasattr(request.data, "get") else {}


def _body_text(request, name: str) -> str | None:
    """A text field the view reads from the body itself: None when it is not a string; a NUL byte
    refused as a serializer's CharField refuses it (PostgreSQL cannot store it: a 500)."""
    text = _body(request).get(name)
    if not isinstance(text, str):
        return None
    if "\x00" in text:
        raise ValidationError({name: [_("Null characters are not allowed.")]})
    return text


class _CitizenWork(APIView):
    access_work = Work.CITIZENS


# --- encounters -------------------------------------------------------------------------------------------


class TaskPlanInput(serializers.Serializer):
    assignee = serializers.UUIDField(allow_null=True, required=False, help_text="Public id of a team member.")
    due_on = serializers.DateField()


class AgreedActionInput(serializers.Serializer):
    text = serializers.CharField(max_length=300)
    task = TaskPlanInput(required=False, allow_null=True, help_text="Who does it and by when; none: no task.")


class MeasurementInputSerializer(serializers.Serializer):
    code = serializers.SlugField(help_text="The measurement type's code, e.g. hba1c.")
    value = serializers.DecimalField(max_digits=12, decimal_places=4, required=False, allow_null=True)
    result = serializers.CharField(required=False, allow_blank=True, default="")


class EncounterInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EncounterKind.choices)
    started_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField()
    note = serializers.CharField(required=False, allow_blank=True, default="")
    what_matters = serializers.CharField(required=False, allow_blank=True, default="")
    caregiver_present = serializers.BooleanField(required=False, default=False)
    agreed_actions = AgreedActionInput(many=True, required=False, default=list)
    measurements = MeasurementInputSerializer(many=True, required=False, default=list)
    sign = serializers.BooleanField(default=False, help_text="Sign now: the planned actions become tasks.")
    appointment = serializers.UUIDField(
        required=False, allow_null=True, help_text="The appointment it is logged from: linked, attended when signed."
    )


class EncounterDraftInput(EncounterInput):
    version = serializers.IntegerField(required=False, help_text="The version read (or If-Match).")


def _encounter_data(validated: dict) -> tuple[patient_services.EncounterData, list]:
    """The service's input from the body: the measurements by their catalogue code, the plans by
    the position of their action (None: no task)."""
    catalogue = {t.code: t for t in patient_selectors.catalogue()}
    measurements = []
    for position, m in enumerate(validated["measurements"]):
        kind = catalogue.get(m["code"])
        if kind is None:
            raise ValidationError({f"measurements-{position}-code": _("Unknown measurement.")})
        measurements.append(
            patient_services.MeasurementInput(type=kind, value=m.get("value"), result=m.get("result", ""))
        )
    actions = validated["agreed_actions"]
    plans = [
        services.ActionTask(
            assignee=_user(a["task"].get("assignee"), field=f"action-{position}-assignee"), due_on=a["task"]["due_on"]
        )
        if a.get("task")
        else None
        for position, a in enumerate(actions)
    ]
    data = patient_services.EncounterData(
        kind=validated["kind"],
        started_at=validated["started_at"],
        duration_minutes=validated["duration_minutes"],
        note=validated["note"],
        what_matters=validated["what_matters"],
        caregiver_present=validated["caregiver_present"],
        agreed_actions=[a["text"] for a in actions],
        measurements=measurements,
    )
    return data, plans


def _appointment_of(user: User, public_id: uuid.UUID | None, patient):
    """The appointment an encounter is logged from, as the page finds it (encounter_create's
    ?appointment=): through the calendar's care relation, logged under the citizen, and only one of
    this citizen's; any other is 404."""
    if public_id is None:
        return None
    appointment = scheduling_selectors.appointment_for(
        user, public_id, what=gettext_noop("API: encounter from an appointment"), action=AccessAction.UPDATE
    )
    if appointment.patient_id != patient.pk:
        raise Http404
    return appointment


class EncounterListSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    citizen = serializers.UUIDField(source="patient.public_id")
    professional = serializers.SerializerMethodField()
    kind = serializers.CharField()
    started_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField()
    signed = serializers.BooleanField(source="is_signed")
    signed_at = serializers.DateTimeField()
    version = serializers.IntegerField()

    def get_professional(self, obj) -> dict | None:
        return _person(obj.professional)


class EncounterDetailSerializer(EncounterListSerializer):
    note = serializers.CharField()
    what_matters = serializers.CharField()
    caregiver_present = serializers.BooleanField()
    agreed_actions = serializers.SerializerMethodField()
    amendments = serializers.SerializerMethodField()
    measurements = serializers.SerializerMethodField()

    @extend_schema_field(
        inline_serializer(
            "AgreedAction",
            many=True,
            fields={
                "id": serializers.UUIDField(),
                "text": serializers.CharField(),
                "position": serializers.IntegerField(),
                "task": serializers.UUIDField(allow_null=True),
                "plan": inline_serializer(
                    "ActionPlan",
                    allow_null=True,
                    fields={"assignee": PERSON, "due_on": serializers.DateField()},
                ),
            },
        )
    )
    def get_agreed_actions(self, obj) -> list:
        result = []
        for action in obj.agreed_actions.all():
            plan = getattr(action, "plan", None)
            task = getattr(action, "task", None)
            result.append(
                {
                    "id": action.public_id,
                    "text": action.text,
                    "position": action.position,
                    "task": task.public_id if task else None,
                    "plan": {"assignee": _person(plan.assignee), "due_on": plan.due_on} if plan else None,
                }
            )
        return result

    @extend_schema_field(
        inline_serializer(
            "Amendment",
            many=True,
            fields={
                "id": serializers.UUIDField(),
                "author": PERSON,
                "text": serializers.CharField(),
                "created_at": serializers.DateTimeField(),
            },
        )
    )
    def get_amendments(self, obj) -> list:
        return [
            {"id": a.public_id, "author": _person(a.author), "text": a.text, "created_at": a.created_at}
            for a in obj.amendments.all()
        ]

    @extend_schema_field(
        inline_serializer(
            "EncounterValue",
            many=True,
            fields={
                "id": serializers.UUIDField(),
                "code": serializers.CharField(),
                "label": serializers.CharField(),
                "value": serializers.DecimalField(max_digits=8, decimal_places=2, allow_null=True),
                "unit": serializers.CharField(),
                "result": serializers.CharField(),
            },
        )
    )
    def get_measurements(self, obj) -> list:
        return [
            {
                "id": m.public_id,
                "code": m.type.code,
                "label": m.type.label,
                "value": m.value,
                "unit": m.type.unit,
                "result": m.result,
            }
            for m in obj.measurements.all()
        ]


def _encounter_detail(encounter) -> Response:
    encounter = (
        type(encounter)
        .objects.select_related("patient", "professional")
        .prefetch_related(
            Prefetch(
                "agreed_actions",
                queryset=encounter.agreed_actions.model.objects.select_related("plan__assignee", "task").order_by(
                    "position", "id"
                ),
            ),
            Prefetch(
                "amendments",
                queryset=encounter.amendments.model.objects.select_related("author").order_by("created_at", "id"),
            ),
            Prefetch(
                "measurements",
                queryset=encounter.measurements.model.objects.select_related("type").order_by(
                    "type__display_order", "id"
                ),
            ),
        )
        .get(pk=encounter.pk)
    )
    return versioned(EncounterDetailSerializer(encounter))


class EncounterFilter(django_filters.FilterSet):
    signed = django_filters.BooleanFilter(field_name="signed_at", lookup_expr="isnull", exclude=True)
    started_after = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = django_filters.IsoDateTimeFilter(field_name="started_at", lookup_expr="lt")


class CitizenEncounters(generics.ListAPIView):
    """The citizen's encounters (drafts and signed), newest first; log a new one."""

    access_work = Work.CITIZENS
    serializer_class = EncounterListSerializer
    filterset_class = EncounterFilter
    ordering_fields = ["started_at", "id"]
    ordering = ["-started_at", "-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema's look at the view
            return Encounter.objects.none()
        return self.patient.encounters.select_related("patient", "professional")

    @extend_schema(operation_id="citizen_encounters_list", responses={200: EncounterListSerializer, **READ_ERRORS})
    def get(self, request, public_id: uuid.UUID):
        self.patient = patient_selectors.patient_for(request.user, public_id, what=gettext_noop("API: encounters"))
        return self.list(request)

    @extend_schema(
        operation_id="citizen_encounters_create",
        request=EncounterInput,
        responses={201: EncounterDetailSerializer, **WRITE_ERRORS},
        description="coordination.services.encounter_log: with `sign` the planned actions become tasks at once; "
        "from an `appointment` the encounter is linked to it, and the appointment attended when signed.",
    )
    def post(self, request, public_id: uuid.UUID):
        what = gettext_noop("API: encounter form")
        patient = patient_selectors.patient_for(request.user, public_id, what=what, action=AccessAction.CREATE)
        with rejection_logged(request.user, patient, what, action=AccessAction.CREATE):
            validated = valid_input(EncounterInput, request)
            appointment = _appointment_of(request.user, validated.get("appointment"), patient)
            data, plans = _encounter_data(validated)
            encounter, _tasks = services.encounter_log(
                actor=request.user,
                patient=patient,
                data=data,
                sign=validated["sign"],
                action_tasks=plans,
                appointment=appointment,
            )
        response = _encounter_detail(encounter)
        response.status_code = status.HTTP_201_CREATED
        return response


class EncounterDetail(_CitizenWork):
    """One encounter with its agreed actions (and their plans or tasks), amendments and values; a
    draft is changed (PATCH, its author only, as the service says) with the version read."""

    @extend_schema(responses={200: EncounterDetailSerializer, **READ_ERRORS})
    def get(self, request, public_id: uuid.UUID):
        encounter = patient_selectors.encounter_for(request.user, public_id, what=gettext_noop("API: encounter"))
        return _encounter_detail(encounter)

    @extend_schema(
        request=EncounterDraftInput,
        parameters=[IF_MATCH],
        responses={200: EncounterDetailSerializer, **VERSIONED_ERRORS},
        description="coordination.services.encounter_draft_save: the whole draft, as its form sends it; "
        "`sign` signs it and turns its planned actions into tasks.",
    )
    def patch(self, request, public_id: uuid.UUID):
        what = gettext_noop("API: encounter draft")
        encounter = patient_selectors.encounter_for(request.user, public_id, what=what, action=AccessAction.UPDATE)
        with rejection_logged(request.user, encounter.patient, what):
            version = expected_version(request)
            validated = valid_input(EncounterDraftInput, request)
            # The appointment the draft was logged from, or the one it is logged from now (the page's way).
            asked = None
            if scheduling_selectors.appointment_logged(encounter) is None:
                asked = _appointment_of(request.user, validated.get("appointment"), encounter.patient)
            data, plans = _encounter_data(validated)
            services.encounter_draft_save(
                actor=request.user,
                encounter=encounter,
                expected_version=version,
                data=data,
                sign=validated["sign"],
                action_tasks=plans,
                appointment=asked,
            )
        return _encounter_detail(encounter)


VERSION_INPUT = inline_serializer("VersionInput", fields={"version": serializers.IntegerField(required=False)})


class EncounterSign(_CitizenWork):
    @extend_schema(
        request=VERSION_INPUT,
        parameters=[IF_MATCH],
        responses={200: EncounterDetailSerializer, **VERSIONED_ERRORS},
        description="coordination.services.encounter_sign: only the draft's author signs; its planned actions "
        "become tasks and the appointment it was logged from is attended.",
    )
    def post(self, request, public_id: uuid.UUID):
        what = gettext_noop("API: sign encounter")
        encounter = patient_selectors.encounter_for(request.user, public_id, what=what, action=AccessAction.UPDATE)
        with rejection_logged(request.user, encounter.patient, what):
            services.encounter_sign(actor=request.user, encounter=encounter, expected_version=expected_version(request))
        return _encounter_detail(encounter)


class EncounterAmend(_CitizenWork):
    @extend_schema(
        request=inline_serializer("AmendmentInput", fields={"text": serializers.CharField()}),
        responses={201: EncounterDetailSerializer, **WRITE_ERRORS},
        description="patients.services.encounter_amend: a correction added to a signed encounter.",
    )
    def post(self, request, public_id: uuid.UUID):
        what = gettext_noop("API: amend encounter")
        encounter = patient_selectors.encounter_for(request.user, public_id, what=what, action=AccessAction.UPDATE)
        with rejection_logged(request.user, encounter.patient, what):
            text = _body_text(request, "text")
            if text is None:
                raise ValidationError({"text": _("Write the correction.")})
            patient_services.encounter_amend(actor=request.user, encounter=encounter, text=text)
        response = _encounter_detail(encounter)
        response.status_code = status.HTTP_201_CREATED
        return response


# --- tasks ----------------------------------------------------------------------------------------------


class TaskSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    title = serializers.CharField()
    description = serializers.CharField()
    citizen = serializers.UUIDField(source="patient.public_id", allow_null=True, default=None)
    team = serializers.UUIDField(source="team.public_id")
    assignee = serializers.SerializerMethodField()
    due_on = serializers.DateField()
    priority = serializers.IntegerField()
    status = serializers.CharField()
    origin = serializers.CharField()
    recurrence_months = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    version = serializers.IntegerField()

    def get_assignee(self, obj) -> dict | None:
        return _person(obj.assignee)


class TaskDetailSerializer(TaskSerializer):
    transitions = serializers.SerializerMethodField()
    comments = serializers.SerializerMethodField()

    @extend_schema_field(
        inline_serializer(
            "TaskTransition",
            many=True,
            fields={
                "at": serializers.DateTimeField(),
                "by": PERSON,
                "from_status": serializers.CharField(),
                "to_status": serializers.CharField(),
                "from_assignee": PERSON,
                "to_assignee": PERSON,
            },
        )
    )
    def get_transitions(self, obj) -> list:
        return [
            {
                "at": t.at,
                "by": _person(t.by),
                "from_status": t.from_status,
                "to_status": t.to_status,
                "from_assignee": _person(t.from_assignee),
                "to_assignee": _person(t.to_assignee),
            }
            for t in obj.transitions.select_related("by", "from_assignee", "to_assignee").order_by("at", "id")
        ]

    @extend_schema_field(
        inline_serializer(
            "TaskComment",
            many=True,
            fields={"author": PERSON, "text": serializers.CharField(), "created_at": serializers.DateTimeField()},
        )
    )
    def get_comments(self, obj) -> list:
        return [
            {"author": _person(c.author), "text": c.text, "created_at": c.created_at}
            for c in obj.comments.select_related("author").order_by("created_at", "id")
        ]


def _task_detail(task, *, code=status.HTTP_200_OK) -> Response:
    return versioned(TaskDetailSerializer(task), status=code)


class TaskFilter(django_filters.FilterSet):
    mine = django_filters.BooleanFilter(method="filter_mine", help_text="Only the tasks assigned to me.")
    status = django_filters.MultipleChoiceFilter(choices=TaskStatus.choices)
    team = django_filters.UUIDFilter(field_name="team__public_id")
    citizen = django_filters.UUIDFilter(method="filter_citizen", help_text="The citizen's public id.")
    due_before = django_filters.DateFilter(field_name="due_on", lookup_expr="lt")

    def filter_mine(self, queryset, _name, value):
        return queryset.filter(assignee=self.request.user) if value else queryset

    def filter_citizen(self, queryset, _name, value):
        # Named by the query: found (and logged) under the citizen, 404 outside the care relation.
        patient = patient_selectors.patient_for(self.request.user, value, what=gettext_noop("API: tasks"))
        return queryset.filter(patient=patient)


class TaskInput(serializers.Serializer):
    title = serializers.CharField(max_length=Task._meta.get_field("title").max_length)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    citizen = serializers.UUIDField(required=False, allow_null=True)
    team = serializers.UUIDField(required=False, allow_null=True, help_text="Default: the citizen's team.")
    assignee = serializers.UUIDField(required=False, allow_null=True)
    due_on = serializers.DateField()
    priority = serializers.ChoiceField(choices=TaskPriority.choices, default=TaskPriority.NORMAL)
    recurrence_months = serializers.IntegerField(required=False, allow_null=True)


class Tasks(generics.ListAPIView):
    """The tasks of the user's teams (`mine=true`: the user's own), soonest due first; create one."""

    access_work = Work.CITIZENS
    serializer_class = TaskSerializer
    filterset_class = TaskFilter
    ordering_fields = ["due_on", "priority", "created_at", "id"]
    ordering = ["due_on", "-priority", "id"]

    def get_queryset(self):
        return selectors.visible_tasks(self.request.user)

    @extend_schema(operation_id="tasks_list", responses={200: TaskSerializer, **_errors(400, 401, 404)})
    def get(self, request):
        criteria = " ".join(f"{k}={v}" for k, v in request.query_params.items() if k != "cursor")
        access.listed(request.user, f"API: tasks {criteria}".strip())
        return self.list(request)

    @extend_schema(
        operation_id="tasks_create",
        request=TaskInput,
        responses={201: TaskDetailSerializer, **WRITE_ERRORS},
        description="coordination.services.task_create.",
    )
    def post(self, request):
        validated = valid_input(TaskInput, request)
        patient = None
        what = gettext_noop("API: task form")
        if validated.get("citizen"):
            patient = patient_selectors.patient_for(
                request.user, validated["citizen"], what=what, action=AccessAction.CREATE
            )
        with rejection_logged(request.user, patient, what, action=AccessAction.CREATE):
            team = None
            if validated.get("team"):
                team = Team.objects.filter(public_id=validated["team"]).first()
                if team is None:
                    raise ValidationError({"team": _("Unknown team.")})
            elif patient is not None:
                team = patient.team
            else:
                raise ValidationError({"team": _("Give the task's team, or the citizen it is about.")})
            task = services.task_create(
                actor=request.user,
                title=validated["title"],
                description=validated["description"],
                team=team,
                patient=patient,
                assignee=_user(validated.get("assignee"), field="assignee"),
                due_on=validated["due_on"],
                priority=validated["priority"],
                recurrence_months=validated.get("recurrence_months"),
            )
        return _task_detail(selectors.visible_tasks(request.user).get(pk=task.pk), code=status.HTTP_201_CREATED)


class TaskDetail(_CitizenWork):
    @extend_schema(responses={200: TaskDetailSerializer, **READ_ERRORS})
    def get(self, request, public_id: uuid.UUID):
        task = selectors.task_for(request.user, public_id, what=gettext_noop("API: task"))
        services.notifications_seen_for_task(actor=request.user, task=task)
        return _task_detail(task)


class _TaskChange(_CitizenWork):
    def change(self, request, task) -> None:  # pragma: no cover - each subclass's
        raise NotImplementedError

    def post(self, request, public_id: uuid.UUID):
        what = gettext_noop("API: task change")
        task = selectors.task_for(request.user, public_id, what=what, action=AccessAction.UPDATE)
        with rejection_logged(request.user, task.patient, what):
            code = self.change(request, task)
        return _task_detail(task, code=code or status.HTTP_200_OK)


class TaskStatusChange(_TaskChange):
    @extend_schema(
        request=inline_serializer(
            "TaskStatusInput",
            fields={
                "status": serializers.ChoiceField(choices=TaskStatus.choices),
                "version": serializers.IntegerField(required=False),
            },
        ),
        parameters=[IF_MATCH],
        responses={200: TaskDetailSerializer, **VERSIONED_ERRORS},
        description="coordination.services.task_change_status.",
    )
    def post(self, request, public_id: uuid.UUID):
        return super().post(request, public_id)

    def change(self, request, task):
        version = expected_version(request)
        wanted = _body(request).get("status")
        if wanted not in TaskStatus.values:
            raise ValidationError({"status": _("Choose one of the options.")})
        services.task_change_status(actor=request.user, task=task, to_status=wanted, expected_version=version)


class TaskAssign(_TaskChange):
    @extend_schema(
        request=inline_serializer(
            "TaskAssignInput",
            fields={
                "assignee": serializers.UUIDField(allow_null=True, help_text="A member of the team; null: nobody."),
                "version": serializers.IntegerField(required=False),
            },
        ),
        parameters=[IF_MATCH],
        responses={200: TaskDetailSerializer, **VERSIONED_ERRORS},
        description="coordination.services.task_assign.",
    )
    def post(self, request, public_id: uuid.UUID):
        return super().post(request, public_id)

    def change(self, request, task):
        version = expected_version(request)
        data = _body(request)
        if "assignee" not in data:
            raise ValidationError({"assignee": _("Choose a member of the task's team.")})
        try:
            wanted = None if data["assignee"] is None else uuid.UUID(str(data["assignee"]))
        except ValueError:
            raise ValidationError({"assignee": _("Choose a member of the task's team.")}) from None
        services.task_assign(
            actor=request.user, task=task, assignee=_user(wanted, field="assignee"), expected_version=version
        )


class TaskComments(_TaskChange):
    @extend_schema(
        request=inline_serializer("TaskCommentInput", fields={"text": serializers.CharField()}),
        responses={201: TaskDetailSerializer, **WRITE_ERRORS},
        description="coordination.services.task_comment.",
    )
    def post(self, request, public_id: uuid.UUID):
        return super().post(request, public_id)

    def change(self, request, task):
        text = _body_text(request, "text")
        if text is None:
            raise ValidationError({"text": _("Write the comment.")})
        services.task_comment(actor=request.user, task=task, text=text)
        return status.HTTP_201_CREATED


# --- referrals --------------------------------------------------------------------------------------------


class ReferralSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    citizen = serializers.UUIDField(source="patient.public_id")
    citizen_name = serializers.SerializerMethodField()
    team = serializers.UUIDField(source="team.public_id")
    source = serializers.CharField()
    reason = serializers.CharField()
    received_on = serializers.DateField()
    status = serializers.CharField()
    programme = serializers.CharField(source="programme.code", allow_null=True, default=None)
    new_citizen = serializers.BooleanField()
    decline_reason = serializers.CharField()
    triaged_by = serializers.SerializerMethodField()
    triaged_at = serializers.DateTimeField(allow_null=True)
    waiting_days = serializers.IntegerField(allow_null=True, help_text="Days to the first encounter.")
    waiting_so_far = serializers.IntegerField(allow_null=True, help_text="Days waited while none has happened.")

    def get_citizen_name(self, obj) -> str:
        return f"{obj.patient.first_name} {obj.patient.last_name}"

    def get_triaged_by(self, obj) -> dict | None:
        return _person(obj.triaged_by)


class ReferralDetailSerializer(ReferralSerializer):
    attachments = serializers.CharField()
    context = serializers.SerializerMethodField()

    @extend_schema_field(
        inline_serializer(
            "ReferralContext",
            fields={
                "known": serializers.BooleanField(),
                "conditions": serializers.ListField(child=serializers.DictField()),
                "enrolments": serializers.ListField(child=serializers.DictField()),
                "last_contact": serializers.DateTimeField(allow_null=True),
                "open_referrals": serializers.IntegerField(),
            },
        )
    )
    def get_context(self, obj) -> dict:
        c = selectors.referral_context(obj)
        return {
            "known": c.known,
            "conditions": [
                {"kind": x.kind, "icd10": getattr(x, "icd10", ""), "diagnosed_on": x.diagnosed_on} for x in c.conditions
            ],
            "enrolments": [{"programme": e.programme.code, "start_on": e.start_on} for e in c.enrolments],
            "last_contact": c.last_contact,
            "open_referrals": c.open_referrals,
        }


class ReferralFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=ReferralStatus.choices, help_text="received: awaiting triage (the coordinator's list)."
    )
    received_after = django_filters.DateFilter(field_name="received_on", lookup_expr="gte")


class ReferralInput(serializers.Serializer):
    team = serializers.UUIDField()
    cpr = serializers.CharField(max_length=20)
    first_name = serializers.CharField(max_length=100)
    last_name = serializers.CharField(max_length=100)
    source = serializers.ChoiceField(choices=ReferralSource.choices)
    reason = serializers.CharField()
    received_on = serializers.DateField()
    attachments = serializers.CharField(required=False, allow_blank=True, default="")


class _WithWaiting:
    """A cursor page of referrals with their days waited (selectors.with_waiting) before serialising."""

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        return selectors.with_waiting(page) if page is not None else None


class Referrals(_WithWaiting, generics.ListAPIView):
    """The referrals of the user's teams (`status=received`: awaiting triage, the longest-waiting
    first); a coordinator registers one (POST)."""

    access_work = Work.CITIZENS
    serializer_class = ReferralSerializer
    filterset_class = ReferralFilter
    ordering_fields = ["received_on", "id"]
    ordering = ["received_on", "id"]

    def check_permissions(self, request):
        # Registering a referral is triage work (the page referral_create is triage_work).
        self.access_work = Work.TRIAGE if request.method == "POST" else Work.CITIZENS
        super().check_permissions(request)

    def get_queryset(self):
        return selectors.referrals_for_triage(self.request.user)

    @extend_schema(operation_id="referrals_list", responses={200: ReferralSerializer, **_errors(400, 401, 404)})
    def get(self, request):
        criteria = " ".join(f"{k}={v}" for k, v in request.query_params.items() if k != "cursor")
        access.listed(request.user, f"API: referrals {criteria}".strip())
        return self.list(request)

    @extend_schema(
        operation_id="referrals_receive",
        request=ReferralInput,
        responses={
            202: inline_serializer("ReferralReceipt", fields={"message": serializers.CharField()}),
            **WRITE_ERRORS,
        },
        description="coordination.services.referral_receive (coordinators). The receipt is the same whoever the "
        "CPR number belongs to, and names no citizen or referral: as on the page, it tells nobody whom a number "
        "belongs to. The referral then appears in the list of the citizen's team.",
    )
    def post(self, request):
        validated = valid_input(ReferralInput, request)
        team = Team.objects.filter(public_id=validated.pop("team")).first()
        if team is None:
            raise ValidationError({"team": _("Unknown team.")})
        services.referral_receive(actor=request.user, team=team, **validated)
        return Response({"message": _("The referral is registered and awaits triage.")}, status=202)


def _referral_detail(user: User, referral: Referral) -> Response:
    # The same reading as the list: with its first signed encounter, for the days waited.
    read = selectors.with_waiting([selectors.referrals_for_triage(user).get(pk=referral.pk)])[0]
    return Response(ReferralDetailSerializer(read).data)


class ReferralDetail(_CitizenWork):
    @extend_schema(responses={200: ReferralDetailSerializer, **READ_ERRORS})
    def get(self, request, public_id: uuid.UUID):
        referral = selectors.referral_for(request.user, public_id, what=gettext_noop("API: referral"))
        return _referral_detail(request.user, referral)


class _Triage(_CitizenWork):
    """Triage is the citizen's team's coordinators' work: anyone else is refused by the selector
    (Work.TRIAGE), in one denied row under the citizen, as on the referral page."""

    def triaged(self, request, public_id: uuid.UUID, decide) -> Response:
        what = gettext_noop("API: referral")
        referral = selectors.referral_for(
            request.user, public_id, what=what, action=AccessAction.UPDATE, work=Work.TRIAGE
        )
        with rejection_logged(request.user, referral.patient, what):
            decide(referral)
        return _referral_detail(request.user, referral)


class FirstContactInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EncounterKind.choices)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    place = serializers.CharField()
    professionals = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
    room = serializers.UUIDField(required=False, allow_null=True)
    purpose = serializers.CharField(required=False, allow_blank=True, default="")


class AcceptInput(serializers.Serializer):
    programme = serializers.SlugField(help_text="The programme's code.")
    start_on = serializers.DateField()
    assignee = serializers.UUIDField(required=False, allow_null=True, help_text="Who makes the first contact.")
    first_contact = FirstContactInput(required=False, allow_null=True, help_text="Book the first meeting now.")


class ReferralAccept(_Triage):
    @extend_schema(
        request=AcceptInput,
        responses={200: ReferralDetailSerializer, **WRITE_ERRORS},
        description="coordination.services.referral_accept: the enrolment, the first-contact task and the "
        "programme's tasks; with `first_contact` the meeting is booked too, all or nothing (a clash: 400 with "
        "the booking's fields under first_contact-*).",
    )
    def post(self, request, public_id: uuid.UUID):
        def decide(referral):
            validated = valid_input(AcceptInput, request)
            programme = Programme.objects.filter(code=validated["programme"]).first()
            if programme is None:
                raise ValidationError({"programme": _("Unknown programme.")})
            first_contact = None
            contact = validated.get("first_contact")
            if contact:
                room = None
                if contact.get("room"):
                    room = Room.objects.filter(public_id=contact["room"]).first()
                    if room is None:
                        raise ValidationError({"first_contact-room": _("Unknown room.")})
                first_contact = scheduling_services.AppointmentData(
                    kind=contact["kind"],
                    starts_at=contact["starts_at"],
                    ends_at=contact["ends_at"],
                    place=contact["place"],
                    professionals=_users(contact["professionals"], field="first_contact-professionals"),
                    room=room,
                    # Empty: referral_accept names it as the first-contact task is named.
                    purpose=contact["purpose"],
                )
            try:
                services.referral_accept(
                    actor=request.user,
                    referral=referral,
                    programme=programme,
                    start_on=validated["start_on"],
                    assignee=_user(validated.get("assignee"), field="assignee"),
                    first_contact=first_contact,
                )
            except services.FirstContactRefused as error:
                if hasattr(error, "error_dict"):
                    raise ValidationError(
                        {f"first_contact-{field}": messages for field, messages in error.message_dict.items()}
                    ) from error
                raise ValidationError({"first_contact": error.messages}) from error

        return self.triaged(request, public_id, decide)


class ReferralDecline(_Triage):
    @extend_schema(
        request=inline_serializer("DeclineInput", fields={"reason": serializers.CharField()}),
        responses={200: ReferralDetailSerializer, **WRITE_ERRORS},
        description="coordination.services.referral_decline: the reason is told to the referrer.",
    )
    def post(self, request, public_id: uuid.UUID):
        def decide(referral):
            services.referral_decline(actor=request.user, referral=referral, reason=_body_text(request, "reason") or "")

        return self.triaged(request, public_id, decide)


# --- handover notes ---------------------------------------------------------------------------------------


class HandoverSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    citizen = serializers.UUIDField(source="patient.public_id")
    author = serializers.SerializerMethodField()
    text = serializers.CharField()
    whole_team = serializers.SerializerMethodField()
    recipients = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    acknowledged = serializers.BooleanField(help_text="By me.")
    acknowledgements = serializers.IntegerField(source="acknowledgements_count")

    def get_author(self, obj) -> dict | None:
        return _person(obj.author)

    def get_whole_team(self, obj) -> bool:
        return obj.to_team_id is not None

    @extend_schema_field(PERSON.__class__(many=True))
    def get_recipients(self, obj) -> list:
        return [_person(u) for u in obj.recipients.all()]


def _handovers(user: User, patient):
    """The citizen's handover notes, each marked with whether the user has acknowledged it (the
    reading of selectors.patient_handovers, as a queryset to page)."""
    return (
        patient.handovers.select_related("author", "patient")
        .prefetch_related("recipients")
        .annotate(
            acknowledged=Exists(HandoverAcknowledgement.objects.filter(note=OuterRef("pk"), user=user)),
            acknowledgements_count=Count("acknowledgements"),
        )
    )


class HandoverInput(serializers.Serializer):
    text = serializers.CharField(max_length=1000)
    recipients = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
    whole_team = serializers.BooleanField(required=False, default=False)


class CitizenHandovers(generics.ListAPIView):
    """The citizen's handover notes, newest first; write one for named colleagues or the whole team."""

    access_work = Work.CITIZENS
    serializer_class = HandoverSerializer
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    ordering = "-created_at"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema's look at the view
            return HandoverNote.objects.none()
        return _handovers(self.request.user, self.patient)

    @extend_schema(operation_id="citizen_handovers_list", responses={200: HandoverSerializer, **READ_ERRORS})
    def get(self, request, public_id: uuid.UUID):
        self.patient = patient_selectors.patient_for(request.user, public_id, what=gettext_noop("API: handover notes"))
        return self.list(request)

    @extend_schema(
        operation_id="citizen_handovers_create",
        request=HandoverInput,
        responses={201: HandoverSerializer, **WRITE_ERRORS},
        description="coordination.services.handover_post.",
    )
    def post(self, request, public_id: uuid.UUID):
        what = gettext_noop("API: handover note")
        patient = patient_selectors.patient_for(request.user, public_id, what=what, action=AccessAction.CREATE)
        with rejection_logged(request.user, patient, what, action=AccessAction.CREATE):
            validated = valid_input(HandoverInput, request)
            note = services.handover_post(
                actor=request.user,
                patient=patient,
                text=validated["text"],
                recipients=_users(validated["recipients"], field="recipients"),
                whole_team=validated["whole_team"],
            )
        note = _handovers(request.user, patient).get(pk=note.pk)
        return Response(HandoverSerializer(note).data, status=status.HTTP_201_CREATED)


class HandoverAcknowledge(_CitizenWork):
    @extend_schema(request=None, responses={204: None, **WRITE_ERRORS})
    def post(self, request, public_id: uuid.UUID):
        note = selectors.handover_for(
            request.user, public_id, what=gettext_noop("API: acknowledge handover note"), action=AccessAction.UPDATE
        )
        services.handover_acknowledge(actor=request.user, note=note)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the briefing and the worklist ------------------------------------------------------------------------


def _point(point) -> dict | None:
    return None if point is None else {"at": point[0], "value": point[1]}


def _gap(gap) -> dict:
    return {
        "rule": gap.rule.code,
        "name": gap.rule.name,
        "opened_at": gap.opened_at,
        "booked_on": gap.booked_day,
        "task": gap.task.public_id if getattr(gap, "task", None) else None,
    }


def _appointment(appointment) -> dict:
    return {
        "id": appointment.public_id,
        "kind": appointment.kind,
        "starts_at": appointment.starts_at,
        "ends_at": appointment.ends_at,
        "place": appointment.place,
        "room": appointment.room.name if appointment.room_id else None,
        "purpose": appointment.purpose,
        "professionals": [_person(p) for p in appointment.professionals.all()],
    }


def _briefing_json(data: briefing_selectors.BriefingData) -> dict:
    """What the briefing page shows, as data (coordination/briefing.py decides what that is)."""
    last = data.last_meeting

    def change(c) -> dict:
        return {
            "code": c.type.code,
            "label": c.type.label,
            "unit": c.type.unit,
            "latest": _point(c.latest),
            "at_last_meeting": _point(c.at_last_meeting),
            "at_enrolment": _point(c.at_enrolment),
            "new_since_last_meeting": c.new_since_last_meeting,
            "target": None if c.band is None else {"low": c.band.low, "high": c.band.high},
            "in_target": c.in_band,
            "points": [{"at": at, "value": value} for at, value in c.points],
        }

    caregiver = data.caregiver
    return {
        "citizen": data.patient.public_id,
        "conditions": [
            {"kind": c.kind, "label": c.get_kind_display(), "diagnosed_on": c.diagnosed_on} for c in data.conditions
        ],
        "enrolments": [
            {"programme": e.programme.code, "name": e.programme.name, "start_on": e.start_on, "end_on": e.end_on}
            for e in data.enrolments
        ],
        "last_meeting": None
        if last is None
        else {
            "id": last.public_id,
            "kind": last.kind,
            "started_at": last.started_at,
            "professional": _person(last.professional),
            "signed": last.is_signed,
        },
        "what_matters": [
            {"encounter": e.public_id, "at": e.started_at, "text": e.what_matters} for e in data.what_matters
        ],
        "goals": [
            {
                "id": goal.public_id,
                "title": str(goal),
                "review_on": goal.review_on,
                "measurement": change(progress) if progress else None,
            }
            for goal, progress in data.goals
        ],
        "agreed_last_time": [
            {
                "text": item.text,
                "task": None
                if item.task is None
                else {"id": item.task.public_id, "status": item.task.status, "due_on": item.task.due_on},
            }
            for item in data.agreed
        ],
        "changes": [change(c) for c in data.changes],
        "care_gaps": [_gap(g) for g in data.gaps],
        "open_tasks": [
            {
                "id": t.public_id,
                "title": t.title,
                "due_on": t.due_on,
                "priority": t.priority,
                "status": t.status,
                "assignee": _person(t.assignee),
            }
            for t in data.tasks
        ],
        "unread_handovers": [
            {"id": n.public_id, "author": _person(n.author), "text": n.text, "created_at": n.created_at}
            for n in data.unread_handovers
        ],
        "primary_caregiver": None
        if caregiver is None
        else {"name": caregiver.name, "relation": caregiver.relation, "phone": caregiver.phone},
        "may_share_with_relatives": data.may_share_with_relatives,
        "recent_notes": [
            {"encounter": e.public_id, "at": e.started_at, "note": e.note, "professional": _person(e.professional)}
            for e in data.recent_notes
        ],
        "next_appointments": [_appointment(a) for a in data.next_appointments],
    }


class CitizenBriefing(_CitizenWork):
    """Before the next meeting: what the briefing page shows, as JSON."""

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT, **READ_ERRORS},
        description="The briefing page's content (coordination/briefing.py): conditions, enrolments, the last "
        "meeting, what matters, goals and their values, what was agreed last time and what became of it, the "
        "relevant values and their change, open care gaps, open tasks, unread handover notes, the primary "
        "caregiver and the consent to share, the latest notes and the next appointments.",
    )
    def get(self, request, public_id: uuid.UUID):
        patient = patient_selectors.patient_for(request.user, public_id, what=gettext_noop("API: briefing"))
        return Response(_briefing_json(briefing_selectors.briefing(request.user, patient)))


def _share(share) -> dict:
    return {"part": share.part, "whole": share.whole}


WORKLIST_ROW = inline_serializer(
    "WorklistRow",
    fields={
        "citizen": serializers.UUIDField(),
        "name": serializers.CharField(),
        "score": serializers.FloatField(),
        "reasons": serializers.ListField(child=serializers.CharField()),
        "care_gaps": serializers.ListField(child=serializers.DictField()),
        "next_appointment": serializers.DictField(allow_null=True),
    },
)


class Worklist(_CitizenWork):
    """The user's citizens ranked by need for attention, as the worklist page ranks and pages them."""

    @extend_schema(
        parameters=[
            OpenApiParameter("scope", str, enum=["mine", "team"], description="mine (default) or my teams'"),
            OpenApiParameter("programme", str, description="A programme's code."),
            OpenApiParameter("gap", str, description="A care-gap rule's code."),
            OpenApiParameter("page", int),
        ],
        responses={
            200: inline_serializer(
                "WorklistPage",
                fields={
                    "my_citizens": serializers.DictField(
                        help_text="Of my citizens: at their own HbA1c target, and without open care gaps "
                        "({part, whole} each), as the worklist page shows them."
                    ),
                    "count": serializers.IntegerField(),
                    "page": serializers.IntegerField(),
                    "pages": serializers.IntegerField(),
                    "next": serializers.IntegerField(allow_null=True),
                    "previous": serializers.IntegerField(allow_null=True),
                    "results": WORKLIST_ROW.__class__(many=True),
                },
            ),
            **_errors(400, 401, 404),
        },
    )
    def get(self, request):
        params = request.query_params
        scope = params.get("scope") or "mine"
        fields = {}
        if scope not in ("mine", "team"):
            fields["scope"] = [_("Choose one of the options.")]
        programme = rule = None
        if params.get("programme"):
            # A NUL byte is no code (and PostgreSQL refuses it in a query: a 500).
            programme = (
                None if "\x00" in params["programme"] else Programme.objects.filter(code=params["programme"]).first()
            )
            if programme is None:
                fields["programme"] = [_("Unknown programme.")]
        if params.get("gap"):
            rule = (
                None
                if "\x00" in params["gap"]
                else CareGapRule.objects.filter(code=params["gap"], is_active=True).first()
            )
            if rule is None:
                fields["gap"] = [_("Unknown care gap.")]
        page_number = params.get("page") or 1
        # ASCII digits, few enough for int() (str.isdigit() also takes "²", which int() refuses).
        if not re.fullmatch(r"[0-9]{1,9}", str(page_number)) or int(page_number) < 1:
            fields["page"] = [_("A whole number is required.")]
        if fields:
            raise serializers.ValidationError(fields)
        page = briefing_selectors.worklist(
            request.user,
            scope=scope,
            programme_id=programme.id if programme else None,
            rule_id=rule.id if rule else None,
            page_number=page_number,
        )
        programme_id, rule_id = (programme.id if programme else "-"), (rule.id if rule else "-")
        access.listed(request.user, f"API: worklist scope={scope} programme={programme_id} gap={rule_id}")
        # The page's figures of the user's own citizens, counted live (a caseload is small).
        mine = Patient.objects.filter(
            team_id__in=access.care_team_ids(request.user), status="active", responsible_professional=request.user
        )
        figures = briefing_selectors.caseload_figures(mine, _("My citizens"))
        return Response(
            {
                "my_citizens": {
                    "at_own_target": _share(figures.at_own_target),
                    "without_gaps": _share(figures.without_gaps),
                },
                "count": page.paginator.count,
                "page": page.number,
                "pages": page.paginator.num_pages,
                "next": page.next_page_number() if page.has_next() else None,
                "previous": page.previous_page_number() if page.has_previous() else None,
                "results": [
                    {
                        "citizen": row.patient.public_id,
                        "name": f"{row.patient.first_name} {row.patient.last_name}",
                        "score": row.score,
                        "reasons": row.reasons,
                        "care_gaps": [
                            {"rule": g.rule.code, "name": g.rule.name, "booked_on": g.booked_day} for g in row.gaps
                        ],
                        "next_appointment": None
                        if row.next_appointment is None
                        else {
                            "id": row.next_appointment.public_id,
                            "kind": row.next_appointment.kind,
                            "starts_at": row.next_appointment.starts_at,
                        },
                    }
                    for row in page.object_list
                ],
            }
        )


app_name = "api-coordination"
urlpatterns = [
    path("citizens/<uuid:public_id>/encounters/", CitizenEncounters.as_view(), name="citizen-encounters"),
    path("citizens/<uuid:public_id>/handovers/", CitizenHandovers.as_view(), name="citizen-handovers"),
    path("citizens/<uuid:public_id>/briefing/", CitizenBriefing.as_view(), name="citizen-briefing"),
    path("encounters/<uuid:public_id>/", EncounterDetail.as_view(), name="encounter"),
    path("encounters/<uuid:public_id>/sign/", EncounterSign.as_view(), name="encounter-sign"),
    path("encounters/<uuid:public_id>/amendments/", EncounterAmend.as_view(), name="encounter-amendments"),
    path("tasks/", Tasks.as_view(), name="tasks"),
    path("tasks/<uuid:public_id>/", TaskDetail.as_view(), name="task"),
    path("tasks/<uuid:public_id>/status/", TaskStatusChange.as_view(), name="task-status"),
    path("tasks/<uuid:public_id>/assign/", TaskAssign.as_view(), name="task-assign"),
    path("tasks/<uuid:public_id>/comments/", TaskComments.as_view(), name="task-comments"),
    path("referrals/", Referrals.as_view(), name="referrals"),
    path("referrals/<uuid:public_id>/", ReferralDetail.as_view(), name="referral"),
    path("referrals/<uuid:public_id>/accept/", ReferralAccept.as_view(), name="referral-accept"),
    path("referrals/<uuid:public_id>/decline/", ReferralDecline.as_view(), name="referral-decline"),
    path("handovers/<uuid:public_id>/acknowledge/", HandoverAcknowledge.as_view(), name="handover-acknowledge"),
    path("worklist/", Worklist.as_view(), name="worklist"),
]
