"""The citizens' records in the API (issue 12), over the same selectors (access decided and logged
under the citizen), services and definitions as the pages. The pattern every app's api.py follows:
- a viewset names its `access_work` (healthcenter.api.WorkPermission checks the role and a token's
  scope), finds the citizen through the `*_for` selector, and lists only the user's citizens with one
  `access.listed` row;
- writes call the app's services (which validate and write history); a service's ValidationError
  becomes a 400 with fields, a stale version a 409 (412 with If-Match) by healthcenter.api's handler;
- a resource carries `version` and its ETag; changes need the version the client read
  (healthcenter.api.expected_version).

The record's parts hang under their citizen: `citizens/{id}/<part>/` lists them (cursor paginated,
filtered and ordered) and adds one (POST, through the part's service). One part is then addressed by
its own public id: flat (`consents/{id}/`, `enrolments/{id}/`, `measurements/{id}/`, `goals/{id}/`)
where patients.selectors has its `*_for`, under the citizen (`citizens/{id}/relatives/{id}/`,
`citizens/{id}/conditions/{id}/`) where the citizen's `patient_for` finds it. The changes a part
allows are actions of their own (`consents/{id}/withdraw/`, `enrolments/{id}/end/`,
`measurements/{id}/correct/`) or, for what carries a version (a citizen, a goal), PUT and PATCH.

A role that may not work with citizens at all (a manager, an administrator) is refused like an
outsider: by the selector, with the denied access-log row under the citizen the URL names, as the
pages' `citizen_work` does. Serializers only shape data: every rule is the services'."""

import datetime
import uuid

import django_filters
from django.core.paginator import InvalidPage, Paginator
from django.db.models import Exists, OuterRef, QuerySet
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import exceptions, generics, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from healthcenter import access
from healthcenter.access import Work
from healthcenter.api import ErrorSerializer, etag, expected_version, rejection_logged, valid_input, versioned
from healthcenter.models import AccessAction

from . import selectors, services
from .definitions import counted_measurements, day_start
from .models import (
    Condition,
    ConditionKind,
    Consent,
    ConsentKind,
    EndReason,
    Enrolment,
    Goal,
    GoalStatus,
    Measurement,
    MeasurementSource,
    MeasurementType,
    Patient,
    PatientStatus,
    ProcedureResult,
    Programme,
    Relative,
)

# --- the documented errors ----------------------------------------------------------------------------
# Every error has the one shape of healthcenter.api.ErrorSerializer ({code, message, fields}).


def _error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=ErrorSerializer, description=description)


E400 = _error("Bad input (code invalid or parse_error): `fields` names each field with its messages.")
E401 = _error("Not signed in and no valid token (code not_authenticated or authentication_failed).")
E403 = _error("A read-only token tried to change something (code read_only_token).")
E404 = _error("Not found, or outside the user's care relation: the same answer (code not_found), no probing.")
E409 = _error("Someone saved since the client read the version it sent (code conflict); nothing was changed.")
E412 = _error("The If-Match ETag is no longer the resource's (code precondition_failed); nothing was changed.")
READ_ERRORS = {401: E401, 404: E404}
WRITE_ERRORS = {400: E400, 401: E401, 403: E403, 404: E404}
VERSIONED_WRITE_ERRORS = {**WRITE_ERRORS, 409: E409, 412: E412}
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description='The ETag last read (W/"3"); or send `version` in the body. A stale one answers 412.',
)


# --- shared behaviour ---------------------------------------------------------------------------------


def _action_for(request, *, creates: bool = False) -> AccessAction:
    if request.method in permissions.SAFE_METHODS:
        return AccessAction.VIEW
    return AccessAction.CREATE if creates else AccessAction.UPDATE


class CitizenRecordAccess:
    """The role check of healthcenter.api.WorkPermission, with one difference the pages make too: a
    role that may not work with citizens is refused by the URL's `*_for` selector, so that the denied
    row lands under the citizen named (healthcenter.access.requires)."""

    access_work = Work.CITIZENS

    def find(self, request):  # the citizen or record the URL names, through its selector
        raise NotImplementedError

    def check_permissions(self, request):
        user = request.user
        if user and user.is_authenticated and not access.may(user, self.access_work) and self.kwargs:
            self.find(request)  # refuses: 404 with a denied row under the citizen
        super().check_permissions(request)


# --- citizens -----------------------------------------------------------------------------------------


class CitizenSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    team = serializers.CharField(source="team.name", read_only=True)
    responsible_professional = serializers.CharField(
        source="responsible_professional.get_full_name", read_only=True, default=None
    )

    class Meta:
        model = Patient
        fields = [
            "id",
            "cpr",
            "first_name",
            "last_name",
            "birth_date",
            "sex",
            "address",
            "postal_code",
            "city",
            "phone",
            "email",
            "gp_name",
            "gp_phone",
            "status",
            "team",
            "responsible_professional",
            "version",
        ]
        read_only_fields = fields


class CitizenChangeSerializer(serializers.Serializer):
    """A citizen's contact details and status (name, CPR number and team are changed on the page).
    PUT sends all of them, PATCH those that change; either with `version` or If-Match."""

    address = serializers.CharField(max_length=200, allow_blank=True)
    postal_code = serializers.RegexField(r"^\d{4}$", allow_blank=True, error_messages={"invalid": _("Four digits.")})
    city = serializers.CharField(max_length=100, allow_blank=True)
    phone = serializers.CharField(max_length=20, allow_blank=True)
    email = serializers.EmailField(allow_blank=True)
    gp_name = serializers.CharField(max_length=200, allow_blank=True)
    gp_phone = serializers.CharField(max_length=20, allow_blank=True)
    status = serializers.ChoiceField(choices=PatientStatus.choices)
    changed_on = serializers.DateField(
        required=False, help_text="The day a change of status takes effect (default today)."
    )
    version = serializers.IntegerField(required=False, help_text="The version read (or send If-Match).")


class CitizenSearchSerializer(serializers.Serializer):
    term = serializers.CharField(max_length=100, allow_blank=True, help_text="Part of the name, or a CPR number.")
    page = serializers.IntegerField(min_value=1, default=1)


SEARCH_PAGE = 25


class CitizenViewSet(CitizenRecordAccess, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The citizens of the user's teams (the care relation). Search by name or CPR number is a POST
    (STYLE.md rule 4: never a name or a CPR number in an address). A citizen's contact details and
    status change by PUT or PATCH with the version read; registering a citizen is coordination's."""

    access_work = Work.CITIZENS
    serializer_class = CitizenSerializer
    lookup_field = "public_id"
    lookup_value_converter = "uuid"
    filterset_fields = ["status"]
    # In the order of registration: a cursor holds the first ordering field's value of the page's last
    # row, and a name must not travel in an address even encoded (STYLE.md rule 4). Name order is the
    # search's, which is posted.
    ordering_fields = ["created_at"]
    ordering = ["created_at", "id"]

    def find(self, request):
        return selectors.patient_for(
            request.user, self.kwargs["public_id"], what=gettext_noop("API: citizen"), action=_action_for(request)
        )

    def get_queryset(self):
        return selectors.patients_visible_to(self.request.user).select_related("team", "responsible_professional")

    @extend_schema(responses={200: CitizenSerializer(many=True), 401: E401})
    def list(self, request, *args, **kwargs):
        access.listed(request.user, gettext_noop("API: citizens"))
        return super().list(request, *args, **kwargs)

    @extend_schema(responses={200: CitizenSerializer, **READ_ERRORS})
    def retrieve(self, request, public_id: uuid.UUID | None = None, **kwargs):
        patient = self.find(request)
        return versioned(self.get_serializer(patient))

    @extend_schema(
        request=CitizenChangeSerializer,
        responses={200: CitizenSerializer, **VERSIONED_WRITE_ERRORS},
        parameters=[IF_MATCH],
    )
    def update(self, request, public_id: uuid.UUID | None = None, **kwargs):
        return self._change(request, partial=False)

    @extend_schema(
        request=CitizenChangeSerializer,
        responses={200: CitizenSerializer, **VERSIONED_WRITE_ERRORS},
        parameters=[IF_MATCH],
    )
    def partial_update(self, request, public_id: uuid.UUID | None = None, **kwargs):
        return self._change(request, partial=True)

    def _change(self, request, *, partial: bool) -> Response:
        patient = self.find(request)
        what = gettext_noop("API: citizen details")

        def save():
            changes = valid_input(CitizenChangeSerializer, request, partial=partial)
            version = expected_version(request)
            changed_on = changes.pop("changed_on", None)
            changes.pop("version", None)
            current = {field: getattr(patient, field) for field in services.PatientData.__dataclass_fields__}
            data = services.PatientData(**{**current, **changes})
            return services.patient_update(
                actor=request.user, patient=patient, expected_version=version, data=data, changed_on=changed_on
            )

        with rejection_logged(request.user, patient, what):
            patient = save()
        return versioned(CitizenSerializer(patient))

    @extend_schema(
        request=CitizenSearchSerializer,
        responses={
            200: inline_serializer(
                "CitizenSearchPage",
                {
                    "count": serializers.IntegerField(),
                    "page": serializers.IntegerField(),
                    "next_page": serializers.IntegerField(allow_null=True),
                    "results": CitizenSerializer(many=True),
                },
            ),
            400: E400,
            401: E401,
        },
    )
    @action(detail=False, methods=["post"], url_path="search")
    def search(self, request):
        """The user's citizens whose name contains the term's words, or whose CPR number starts with
        its digits, in name order, 25 a page (`page` in the body). The term is posted, never put in
        an address, and logged like the citizens list's search (a whole CPR number under its citizen).
        Being a POST, it needs a token with write scope, as every POST does (healthcenter.api)."""
        data = valid_input(CitizenSearchSerializer, request)
        search = selectors.PatientSearch(term=data["term"])
        paginator = Paginator(selectors.patient_search(request.user, search), SEARCH_PAGE)
        try:
            page = paginator.page(data["page"])
        except InvalidPage:
            raise exceptions.ValidationError({"page": [_("There is no such page.")]}) from None
        selectors.patient_search_logged(request.user, search, page=page.number)
        return Response(
            {
                "count": paginator.count,
                "page": page.number,
                "next_page": page.next_page_number() if page.has_next() else None,
                "results": CitizenSerializer(page.object_list, many=True).data,
            }
        )


# --- the record's parts: serializers ------------------------------------------------------------------


class RelativeSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Relative
        fields = [
            "id",
            "name",
            "relation",
            "phone",
            "is_primary_caregiver",
            "primary_caregiver_from",
            "primary_caregiver_until",
            "may_receive_information",
            "created_at",
        ]
        read_only_fields = fields


class RelativeInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    relation = serializers.CharField(max_length=100)
    phone = serializers.CharField(max_length=20, allow_blank=True, default="")
    is_primary_caregiver = serializers.BooleanField(default=False)
    may_receive_information = serializers.BooleanField(default=False)
    primary_caregiver_from = serializers.DateField(required=False, allow_null=True, default=None)


class ConsentSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    label = serializers.CharField(source="get_kind_display", read_only=True)
    in_force = serializers.SerializerMethodField()

    class Meta:
        model = Consent
        fields = ["id", "kind", "label", "given_on", "given_by", "withdrawn_on", "withdrawn_by", "in_force"]
        read_only_fields = fields

    def get_in_force(self, consent: Consent) -> bool:
        return consent.withdrawn_on is None


class ConsentInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ConsentKind.choices)
    given_on = serializers.DateField()
    given_by = serializers.CharField(max_length=200)


class ConsentWithdrawInput(serializers.Serializer):
    withdrawn_on = serializers.DateField()
    withdrawn_by = serializers.CharField(max_length=200)


class ConditionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    label = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Condition
        fields = ["id", "kind", "label", "icd10", "diagnosed_on"]
        read_only_fields = fields


class ConditionInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ConditionKind.choices)
    icd10 = serializers.RegexField(
        r"^[A-Za-z]\d{2}(\.\d{1,2})?$",
        max_length=10,
        allow_blank=True,
        default="",
        error_messages={"invalid": _("An ICD-10 code looks like E11 or F06.7.")},
        help_text="Empty for the condition's usual code.",
    )
    diagnosed_on = serializers.DateField(allow_null=True)


class EnrolmentSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    programme = serializers.CharField(source="programme.code", read_only=True)
    programme_name = serializers.CharField(source="programme.name", read_only=True)
    active = serializers.SerializerMethodField()

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "programme",
            "programme_name",
            "referral_received_on",
            "start_on",
            "end_on",
            "end_reason",
            "active",
        ]
        read_only_fields = fields

    def get_active(self, enrolment: Enrolment) -> bool:
        return enrolment.end_on is None


class CodeField(serializers.SlugRelatedField):
    """A catalogue row named by its code. A NUL byte is no code, and PostgreSQL refuses it in the lookup
    (a 500 through DRF's SlugRelatedField, which catches only TypeError and ValueError)."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("invalid")
        return super().to_internal_value(data)


class EnrolmentInput(serializers.Serializer):
    programme = CodeField(slug_field="code", queryset=Programme.objects.all())
    referral_received_on = serializers.DateField()
    start_on = serializers.DateField()


class EnrolmentEndInput(serializers.Serializer):
    end_on = serializers.DateField()
    end_reason = serializers.ChoiceField(choices=EndReason.choices)


class MeasurementSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    code = serializers.CharField(source="type.code", read_only=True)
    label = serializers.CharField(source="type.label", read_only=True)
    unit = serializers.CharField(source="type.unit", read_only=True)
    coding_system = serializers.CharField(source="type.coding_system", read_only=True, help_text="LOINC or NPU.")
    coding_code = serializers.CharField(source="type.coding_code", read_only=True)
    encounter = serializers.UUIDField(source="encounter.public_id", read_only=True, default=None)
    corrects = serializers.UUIDField(source="corrects.public_id", read_only=True, default=None)
    counts = serializers.BooleanField(
        read_only=True,
        help_text="Part of the record (patients.definitions.counted_measurements): not a draft encounter's value, "
        "not a value since corrected.",
    )

    class Meta:
        model = Measurement
        fields = [
            "id",
            "code",
            "label",
            "value",
            "result",
            "unit",
            "coding_system",
            "coding_code",
            "measured_at",
            "source",
            "encounter",
            "counts",
            "corrects",
            "correction_reason",
            "recorded_at",
        ]
        read_only_fields = fields


class MeasurementRecordInput(serializers.Serializer):
    code = CodeField(
        slug_field="code", queryset=MeasurementType.objects.all(), help_text="The catalogue's code, e.g. hba1c."
    )
    value = serializers.DecimalField(max_digits=None, decimal_places=None, required=False, allow_null=True)
    result = serializers.ChoiceField(choices=ProcedureResult.choices, required=False, allow_blank=True, default="")
    measured_at = serializers.DateTimeField()


class MeasurementCorrectInput(serializers.Serializer):
    value = serializers.DecimalField(max_digits=None, decimal_places=None, required=False, allow_null=True)
    result = serializers.ChoiceField(choices=ProcedureResult.choices, required=False, allow_blank=True, default="")
    reason = serializers.CharField(max_length=500, allow_blank=True)


class GoalSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    measurement_type = serializers.CharField(source="measurement_type.code", read_only=True, default=None)

    class Meta:
        model = Goal
        fields = [
            "id",
            "text",
            "measurement_type",
            "target_low",
            "target_high",
            "review_on",
            "status",
            "achieved_on",
            "dropped_on",
            "created_at",
            "version",
        ]
        read_only_fields = fields


class GoalInput(serializers.Serializer):
    text = serializers.CharField(max_length=1000, allow_blank=True)
    measurement_type = CodeField(
        slug_field="code", queryset=MeasurementType.objects.all(), required=False, allow_null=True, default=None
    )
    target_low = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, allow_null=True, default=None
    )
    target_high = serializers.DecimalField(
        max_digits=None, decimal_places=None, required=False, allow_null=True, default=None
    )
    review_on = serializers.DateField()
    status = serializers.ChoiceField(choices=GoalStatus.choices, default=GoalStatus.ACTIVE)
    achieved_on = serializers.DateField(required=False, allow_null=True, default=None)


class GoalChangeInput(GoalInput):
    version = serializers.IntegerField(required=False, help_text="The version read (or send If-Match).")


# --- the record's parts: filters ----------------------------------------------------------------------


class MeasurementFilter(django_filters.FilterSet):
    code = django_filters.CharFilter(field_name="type__code", help_text="The catalogue's code, e.g. hba1c.")
    since = django_filters.DateFilter(method="measured_since", help_text="Measured on or after this day.")
    until = django_filters.DateFilter(method="measured_until", help_text="Measured on or before this day.")
    source = django_filters.ChoiceFilter(choices=MeasurementSource.choices)
    counts = django_filters.BooleanFilter(help_text="Only values that count (true) or that do not (false).")

    class Meta:
        model = Measurement
        fields = ["code", "since", "until", "source", "counts"]

    def measured_since(self, queryset, name, day: datetime.date):
        return queryset.filter(measured_at__gte=day_start(day))

    def measured_until(self, queryset, name, day: datetime.date):
        if day == datetime.date.max:  # the last day a date holds has no day after it: everything is before
            return queryset
        return queryset.filter(measured_at__lt=day_start(day + datetime.timedelta(days=1)))


class ConsentFilter(django_filters.FilterSet):
    in_force = django_filters.BooleanFilter(field_name="withdrawn_on", lookup_expr="isnull")

    class Meta:
        model = Consent
        fields = ["kind", "in_force"]


class EnrolmentFilter(django_filters.FilterSet):
    programme = django_filters.CharFilter(field_name="programme__code")
    active = django_filters.BooleanFilter(field_name="end_on", lookup_expr="isnull")

    class Meta:
        model = Enrolment
        fields = ["programme", "active"]


# --- the record's parts: views --------------------------------------------------------------------------


class CitizenParts(CitizenRecordAccess, generics.ListCreateAPIView):
    """One kind of record of one citizen: GET lists it (one allowed access-log row under the citizen),
    POST adds one through the kind's service. Subclasses give the model, the serializers, the citizen's
    rows and the service call."""

    model: type
    input_serializer: type[serializers.Serializer]
    what: str

    def find(self, request) -> Patient:
        return selectors.patient_for(
            request.user, self.kwargs["citizen_id"], what=self.what, action=_action_for(request, creates=True)
        )

    def rows(self, patient: Patient) -> QuerySet:
        raise NotImplementedError

    def create_row(self, request, patient: Patient, data: dict):
        raise NotImplementedError

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema's generator
            return self.model.objects.none()
        return self.rows(self.patient)

    def list(self, request, *args, **kwargs):
        self.patient = self.find(request)
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        patient = self.find(request)
        with rejection_logged(request.user, patient, self.what):
            row = self.create_row(request, patient, valid_input(self.input_serializer, request))
        return Response(self.get_serializer(self.shown(row)).data, status=status.HTTP_201_CREATED)

    def shown(self, row):
        return row


def parts_schema(name: str, output, input_serializer, filters: str = ""):
    return extend_schema_view(
        get=extend_schema(
            summary=f"List the citizen's {name}",
            description="Cursor paginated (`cursor`, `page_size`); `ordering` by the fields named." + filters,
            responses={200: output(many=True), **READ_ERRORS},
        ),
        post=extend_schema(
            summary=f"Add to the citizen's {name}",
            request=input_serializer,
            responses={201: output, **WRITE_ERRORS},
        ),
    )


@parts_schema("relatives", RelativeSerializer, RelativeInput)
class CitizenRelatives(CitizenParts):
    model = Relative
    serializer_class = RelativeSerializer
    input_serializer = RelativeInput
    what = gettext_noop("API: relatives")
    # Not by name: the cursor would carry the relative's name (see CitizenViewSet).
    ordering_fields = ["created_at"]
    ordering = ["created_at", "id"]
    filterset_fields = ["is_primary_caregiver", "may_receive_information"]

    def rows(self, patient):
        return Relative.objects.filter(patient=patient)

    def create_row(self, request, patient, data):
        return services.relative_add(actor=request.user, patient=patient, **data)


@parts_schema("consents", ConsentSerializer, ConsentInput)
class CitizenConsents(CitizenParts):
    model = Consent
    serializer_class = ConsentSerializer
    input_serializer = ConsentInput
    what = gettext_noop("API: consents")
    ordering_fields = ["given_on", "kind"]
    ordering = ["-given_on", "id"]
    filterset_class = ConsentFilter

    def rows(self, patient):
        return Consent.objects.filter(patient=patient)

    def create_row(self, request, patient, data):
        return services.consent_give(actor=request.user, patient=patient, **data)


@parts_schema("conditions", ConditionSerializer, ConditionInput)
class CitizenConditions(CitizenParts):
    model = Condition
    serializer_class = ConditionSerializer
    input_serializer = ConditionInput
    what = gettext_noop("API: conditions")
    ordering_fields = ["diagnosed_on", "kind"]
    ordering = ["diagnosed_on", "id"]
    filterset_fields = ["kind"]

    def rows(self, patient):
        return Condition.objects.filter(patient=patient)

    def create_row(self, request, patient, data):
        return services.condition_add(actor=request.user, patient=patient, **data)


@parts_schema("enrolments", EnrolmentSerializer, EnrolmentInput)
class CitizenEnrolments(CitizenParts):
    model = Enrolment
    serializer_class = EnrolmentSerializer
    input_serializer = EnrolmentInput
    what = gettext_noop("API: enrolments")
    ordering_fields = ["start_on", "end_on"]
    ordering = ["-start_on", "id"]
    filterset_class = EnrolmentFilter

    def rows(self, patient):
        return Enrolment.objects.filter(patient=patient).select_related("programme")

    def create_row(self, request, patient, data):
        return services.enrolment_create(actor=request.user, patient=patient, **data)


def measurements_shown() -> QuerySet[Measurement]:
    """Measurements with what the API shows of them, and whether each counts, by the one definition."""
    return Measurement.objects.select_related("type", "encounter", "corrects").annotate(
        counts=Exists(counted_measurements().filter(pk=OuterRef("pk")))
    )


@parts_schema(
    "measurements",
    MeasurementSerializer,
    MeasurementRecordInput,
    " Filter by `code`, `since` and `until` (the centre's days), `source` and `counts`; in time order.",
)
class CitizenMeasurements(CitizenParts):
    model = Measurement
    serializer_class = MeasurementSerializer
    input_serializer = MeasurementRecordInput
    what = gettext_noop("API: measurements")
    ordering_fields = ["measured_at", "recorded_at"]
    ordering = ["measured_at", "id"]
    filterset_class = MeasurementFilter

    def rows(self, patient):
        return measurements_shown().filter(patient=patient)

    def create_row(self, request, patient, data):
        reading = services.MeasurementInput(type=data["code"], value=data.get("value"), result=data["result"] or "")
        return services.measurement_record(
            actor=request.user, patient=patient, measurement=reading, measured_at=data["measured_at"]
        )

    def shown(self, row):
        return measurements_shown().get(pk=row.pk)


@parts_schema("goals", GoalSerializer, GoalInput)
class CitizenGoals(CitizenParts):
    model = Goal
    serializer_class = GoalSerializer
    input_serializer = GoalInput
    what = gettext_noop("API: goals")
    ordering_fields = ["review_on", "created_at"]
    ordering = ["review_on", "id"]
    filterset_fields = ["status"]

    def rows(self, patient):
        return Goal.objects.filter(patient=patient).select_related("measurement_type")

    def create_row(self, request, patient, data):
        return services.goal_create(actor=request.user, patient=patient, data=services.GoalData(**data))

    def create(self, request, *args, **kwargs):
        response = super().create(request, *args, **kwargs)
        response["ETag"] = etag(response.data["version"])
        return response


# --- one part -----------------------------------------------------------------------------------------


class CitizenPart(CitizenRecordAccess, generics.GenericAPIView):
    """One record of a citizen, found by its public id through its `*_for` selector (or, for the kinds
    that have none, among the citizen's own through `patient_for`)."""

    what: str
    pagination_class = None
    filter_backends: list = []

    def find(self, request):
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        return Response(self.get_serializer(self.find(request)).data)


class NestedPart(CitizenPart):
    model: type

    def find(self, request):
        patient = selectors.patient_for(
            request.user, self.kwargs["citizen_id"], what=self.what, action=_action_for(request)
        )
        row = self.model.objects.filter(patient=patient, public_id=self.kwargs["public_id"]).first()
        if row is None:
            raise exceptions.NotFound
        return row


@extend_schema_view(
    get=extend_schema(summary="One relative of the citizen", responses={200: RelativeSerializer, **READ_ERRORS})
)
class RelativeDetail(NestedPart):
    model = Relative
    serializer_class = RelativeSerializer
    what = gettext_noop("API: relative")


@extend_schema_view(
    get=extend_schema(summary="One condition of the citizen", responses={200: ConditionSerializer, **READ_ERRORS})
)
class ConditionDetail(NestedPart):
    model = Condition
    serializer_class = ConditionSerializer
    what = gettext_noop("API: condition")


@extend_schema_view(get=extend_schema(summary="One consent", responses={200: ConsentSerializer, **READ_ERRORS}))
class ConsentDetail(CitizenPart):
    serializer_class = ConsentSerializer
    what = gettext_noop("API: consent")

    def find(self, request):
        return selectors.consent_for(
            request.user, self.kwargs["public_id"], what=self.what, action=_action_for(request)
        )


@extend_schema_view(
    post=extend_schema(
        summary="Withdraw a consent",
        request=ConsentWithdrawInput,
        responses={200: ConsentSerializer, **WRITE_ERRORS},
    )
)
class ConsentWithdraw(ConsentDetail):
    what = gettext_noop("API: withdraw consent")

    http_method_names = ["post", "options"]

    def post(self, request, *args, **kwargs):
        consent = self.find(request)
        with rejection_logged(request.user, consent.patient, self.what):
            consent = services.consent_withdraw(
                actor=request.user, consent=consent, **valid_input(ConsentWithdrawInput, request)
            )
        return Response(ConsentSerializer(consent).data)


@extend_schema_view(get=extend_schema(summary="One enrolment", responses={200: EnrolmentSerializer, **READ_ERRORS}))
class EnrolmentDetail(CitizenPart):
    serializer_class = EnrolmentSerializer
    what = gettext_noop("API: enrolment")

    def find(self, request):
        return selectors.enrolment_for(
            request.user, self.kwargs["public_id"], what=self.what, action=_action_for(request)
        )


@extend_schema_view(
    post=extend_schema(
        summary="End an enrolment",
        request=EnrolmentEndInput,
        responses={200: EnrolmentSerializer, **WRITE_ERRORS},
    )
)
class EnrolmentEnd(EnrolmentDetail):
    what = gettext_noop("API: end enrolment")
    http_method_names = ["post", "options"]

    def post(self, request, *args, **kwargs):
        enrolment = self.find(request)
        with rejection_logged(request.user, enrolment.patient, self.what):
            ended = services.enrolment_end(
                actor=request.user, enrolment=enrolment, **valid_input(EnrolmentEndInput, request)
            )
        ended.programme = enrolment.programme
        return Response(EnrolmentSerializer(ended).data)


@extend_schema_view(get=extend_schema(summary="One measurement", responses={200: MeasurementSerializer, **READ_ERRORS}))
class MeasurementDetail(CitizenPart):
    serializer_class = MeasurementSerializer
    what = gettext_noop("API: measurement")

    def find(self, request):
        measurement = selectors.measurement_for(
            request.user, self.kwargs["public_id"], what=self.what, action=_action_for(request)
        )
        return measurement

    def get(self, request, *args, **kwargs):
        measurement = self.find(request)
        return Response(MeasurementSerializer(measurements_shown().get(pk=measurement.pk)).data)


@extend_schema_view(
    post=extend_schema(
        summary="Correct a measurement",
        description="A new value that names the one it replaces and why; the original is kept and no longer counts.",
        request=MeasurementCorrectInput,
        responses={201: MeasurementSerializer, **WRITE_ERRORS},
    )
)
class MeasurementCorrect(MeasurementDetail):
    what = gettext_noop("API: measurement correction")
    http_method_names = ["post", "options"]

    def post(self, request, *args, **kwargs):
        measurement = self.find(request)

        def save():
            data = valid_input(MeasurementCorrectInput, request)
            return services.measurement_correct(
                actor=request.user,
                measurement=measurement,
                value=data.get("value"),
                result=data["result"] or "",
                reason=data["reason"],
            )

        with rejection_logged(request.user, measurement.patient, self.what):
            correction = save()
        return Response(
            MeasurementSerializer(measurements_shown().get(pk=correction.pk)).data, status=status.HTTP_201_CREATED
        )


GOAL_CHANGE = extend_schema(
    summary="Change a goal",
    request=GoalChangeInput,
    responses={200: GoalSerializer, **VERSIONED_WRITE_ERRORS},
    parameters=[IF_MATCH],
)


@extend_schema_view(
    get=extend_schema(summary="One goal", responses={200: GoalSerializer, **READ_ERRORS}),
    put=GOAL_CHANGE,
    patch=GOAL_CHANGE,
)
class GoalDetail(CitizenPart):
    serializer_class = GoalSerializer
    what = gettext_noop("API: goal")

    def find(self, request):
        return selectors.goal_for(request.user, self.kwargs["public_id"], what=self.what, action=_action_for(request))

    def get(self, request, *args, **kwargs):
        goal = self.find(request)
        return versioned(GoalSerializer(goal))

    def put(self, request, *args, **kwargs):
        return self._change(request, partial=False)

    def patch(self, request, *args, **kwargs):
        return self._change(request, partial=True)

    def _change(self, request, *, partial: bool) -> Response:
        goal = self.find(request)

        def save():
            changes = valid_input(GoalChangeInput, request, partial=partial)
            version = expected_version(request)
            changes.pop("version", None)
            current = {field: getattr(goal, field) for field in services.GoalData.__dataclass_fields__}
            return services.goal_update(
                actor=request.user,
                goal=goal,
                expected_version=version,
                data=services.GoalData(**{**current, **changes}),
            )

        with rejection_logged(request.user, goal.patient, self.what):
            goal = save()
        return versioned(GoalSerializer(goal))


router = SimpleRouter(use_regex_path=False)
router.register("citizens", CitizenViewSet, basename="citizen")

app_name = "api-patients"
urlpatterns = [
    *router.urls,
    path("citizens/<uuid:citizen_id>/relatives/", CitizenRelatives.as_view(), name="citizen-relatives"),
    path("citizens/<uuid:citizen_id>/relatives/<uuid:public_id>/", RelativeDetail.as_view(), name="relative-detail"),
    path("citizens/<uuid:citizen_id>/consents/", CitizenConsents.as_view(), name="citizen-consents"),
    path("citizens/<uuid:citizen_id>/conditions/", CitizenConditions.as_view(), name="citizen-conditions"),
    path("citizens/<uuid:citizen_id>/conditions/<uuid:public_id>/", ConditionDetail.as_view(), name="condition-detail"),
    path("citizens/<uuid:citizen_id>/enrolments/", CitizenEnrolments.as_view(), name="citizen-enrolments"),
    path("citizens/<uuid:citizen_id>/measurements/", CitizenMeasurements.as_view(), name="citizen-measurements"),
    path("citizens/<uuid:citizen_id>/goals/", CitizenGoals.as_view(), name="citizen-goals"),
    path("consents/<uuid:public_id>/", ConsentDetail.as_view(), name="consent-detail"),
    path("consents/<uuid:public_id>/withdraw/", ConsentWithdraw.as_view(), name="consent-withdraw"),
    path("enrolments/<uuid:public_id>/", EnrolmentDetail.as_view(), name="enrolment-detail"),
    path("enrolments/<uuid:public_id>/end/", EnrolmentEnd.as_view(), name="enrolment-end"),
    path("measurements/<uuid:public_id>/", MeasurementDetail.as_view(), name="measurement-detail"),
    path("measurements/<uuid:public_id>/correct/", MeasurementCorrect.as_view(), name="measurement-correct"),
    path("goals/<uuid:public_id>/", GoalDetail.as_view(), name="goal-detail"),
]
