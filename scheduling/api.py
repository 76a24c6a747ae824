"""The calendar in the API (issue 12): appointments, rooms and courses, over the same selectors and
services as the calendar's pages (the pattern of patients/api.py):

- an appointment belongs to its citizen's record: found through `selectors.appointment_for` (logged
  under the citizen, 404 outside the care relation), changed only by the scheduling services
  (appointment_book, appointment_reschedule, appointment_cancel, appointment_did_not_attend), which
  check the care relation, the clashes and the version;
- `?mine=true&day=` is the signed-in professional's day as My day shows it (`selectors.my_day`): an
  appointment of a citizen outside the viewer's care relation is there as time taken only, never with
  the citizen, the purpose or the reason (`selectors.shows_citizen`);
- professionals are named by their user `public_id` (STYLE.md rule 4: the week views' integer key is
  not used in the API); rooms and courses by theirs.

A clash is the service's refusal with code "clash": 400, its message naming who or what is taken."""

import datetime
import uuid

from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from healthcenter import access
from healthcenter.access import Work
from healthcenter.api import ErrorSerializer, expected_version, rejection_logged, valid, versioned
from healthcenter.models import AccessAction, User
from patients import selectors as patient_selectors
from patients.models import EncounterKind

from . import selectors, services
from .models import Appointment, Course, CourseSession, Place, Room


def _calendar_moment(value: datetime.datetime) -> datetime.datetime:
    if not selectors.in_calendar(timezone.localdate(value)):
        raise serializers.ValidationError(
            _("Choose a day between %(first)s and %(last)s.")
            % {"first": selectors.FIRST_DAY.year, "last": selectors.LAST_DAY.year},
            code="out_of_range",
        )
    return value


# --- what is shown ---------------------------------------------------------------------------------------


class ProfessionalSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="get_full_name")


class RoomSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = Room
        fields = ["id", "name", "location", "capacity", "is_active"]
        read_only_fields = fields


class CalendarRoomSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField()


class AppointmentCitizenSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    name = serializers.CharField(source="full_name")


class AppointmentSerializer(serializers.ModelSerializer):
    """An appointment. `citizen`, `purpose` and `cancel_reason` are given only within the care relation
    to the citizen (`named`); outside it (My day of a professional who has left the citizen's team)
    the appointment is time taken, with its kind, place and room."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    named = serializers.SerializerMethodField(help_text="Whether the citizen may be shown to the user.")
    citizen = serializers.SerializerMethodField()
    professionals = ProfessionalSerializer(many=True, read_only=True)
    room = CalendarRoomSerializer(read_only=True, allow_null=True)
    course = serializers.SerializerMethodField(help_text="The course of a group session's appointment.")
    purpose = serializers.SerializerMethodField()
    cancel_reason = serializers.SerializerMethodField()

    class Meta:
        model = Appointment
        fields = [
            "id",
            "named",
            "citizen",
            "kind",
            "starts_at",
            "ends_at",
            "place",
            "room",
            "professionals",
            "purpose",
            "status",
            "cancel_reason",
            "course",
            "version",
        ]
        read_only_fields = fields

    def _named(self, appointment: Appointment) -> bool:
        named = self.context.get("named")
        if named is not None:
            return appointment.pk in named
        return selectors.shows_citizen(self.context["request"].user, appointment)

    def get_named(self, appointment: Appointment) -> bool:
        return self._named(appointment)

    @extend_schema_field(AppointmentCitizenSerializer(allow_null=True))
    def get_citizen(self, appointment: Appointment):
        if not self._named(appointment):
            return None
        return AppointmentCitizenSerializer(appointment.patient).data

    def get_purpose(self, appointment: Appointment) -> str:
        return appointment.purpose if self._named(appointment) else ""

    def get_cancel_reason(self, appointment: Appointment) -> str:
        return appointment.cancel_reason if self._named(appointment) else ""

    @extend_schema_field(OpenApiTypes.STR)
    def get_course(self, appointment: Appointment) -> str | None:
        return appointment.session.course.name if appointment.session_id else None


# --- what is asked for --------------------------------------------------------------------------------------


class AppointmentListQuery(serializers.Serializer):
    """The list's two questions: one citizen's appointments, or the user's own day."""

    citizen = serializers.UUIDField(required=False, help_text="A citizen's public id: their appointments.")
    mine = serializers.BooleanField(required=False, default=False, help_text="true: the user's own day.")
    day = serializers.DateField(required=False, help_text="With mine=true: the day (YYYY-MM-DD); today if left out.")

    def validate_day(self, value: datetime.date) -> datetime.date:
        if not selectors.in_calendar(value):
            raise serializers.ValidationError(
                _("Choose a day between %(first)s and %(last)s.")
                % {"first": selectors.FIRST_DAY.year, "last": selectors.LAST_DAY.year},
                code="out_of_range",
            )
        return value

    def validate(self, attrs):
        if attrs.get("citizen") is None and not attrs.get("mine"):
            raise serializers.ValidationError(
                {"citizen": [_("Give a citizen (citizen=<id>) or ask for your own day (mine=true).")]}
            )
        if attrs.get("citizen") is not None and attrs.get("mine"):
            raise serializers.ValidationError(
                {"mine": [_("Ask for a citizen's appointments or your own day, not both.")]}
            )
        return attrs


class AppointmentWriteSerializer(serializers.Serializer):
    """What a booking or a move says. The rules (kind and place agree, the care team, nothing clashes,
    the day has not passed) are the service's; this only reads what was sent."""

    # Every kind, as the appointment has it; the service refuses a group session (booked as a course).
    kind = serializers.ChoiceField(choices=EncounterKind.choices)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    place = serializers.ChoiceField(choices=Place.choices)
    room = serializers.UUIDField(required=False, allow_null=True, help_text="A room's public id, for place=room.")
    professionals = serializers.ListField(
        child=serializers.UUIDField(),
        allow_empty=False,
        help_text="The professionals' user public ids (people of the citizen's care team).",
    )
    purpose = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")

    def validate_starts_at(self, value):
        return _calendar_moment(value)

    def validate_ends_at(self, value):
        return _calendar_moment(value)

    def validate_room(self, value):
        if value is None:
            return None
        room = Room.objects.filter(public_id=value).first()
        if room is None:
            raise serializers.ValidationError(_("There is no such room."), code="does_not_exist")
        return room

    def validate_professionals(self, value):
        wanted = set(value)
        people = list(User.objects.filter(public_id__in=wanted, is_active=True).order_by("first_name", "last_name"))
        if len(people) != len(wanted):
            raise serializers.ValidationError(_("There is no such professional."), code="does_not_exist")
        return people

    def to_data(self) -> services.AppointmentData:
        c = self.validated_data
        return services.AppointmentData(
            kind=c["kind"],
            starts_at=c["starts_at"],
            ends_at=c["ends_at"],
            place=c["place"],
            professionals=c["professionals"],
            room=c.get("room"),
            purpose=c.get("purpose") or "",
        )


class BookingSerializer(AppointmentWriteSerializer):
    citizen = serializers.UUIDField(help_text="The citizen's public id.")


class MoveSerializer(AppointmentWriteSerializer):
    """A move sends what changes; what it leaves out stays as it is. `version` (or If-Match) is the
    version last read."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False

    version = serializers.IntegerField(required=False, help_text="The version last read (or send If-Match).")


class CancelSerializer(serializers.Serializer):
    by_citizen = serializers.BooleanField(help_text="true: the citizen cancelled; false: the centre did.")
    reason = serializers.CharField(max_length=2000, help_text="Why the appointment is cancelled.")
    version = serializers.IntegerField(required=False, help_text="The version last read (or send If-Match).")


class VersionSerializer(serializers.Serializer):
    version = serializers.IntegerField(required=False, help_text="The version last read (or send If-Match).")


def _citizen_named(request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.query_params.get("citizen", ""))
    except ValueError:
        return None


def _people() -> Prefetch:
    return Prefetch("professionals", queryset=User.objects.order_by("first_name", "last_name"))


# --- appointments ---------------------------------------------------------------------------------------


@extend_schema(tags=["calendar"])
class AppointmentViewSet(viewsets.GenericViewSet):
    """Appointments with citizens. The list answers one of two questions: `?citizen=<id>` (that
    citizen's appointments, logged under them; 404 outside the care relation) or `?mine=true&day=`
    (the user's own appointments of a day, cancelled ones too, as My day shows them; one page)."""

    access_work = Work.CITIZENS
    serializer_class = AppointmentSerializer
    lookup_field = "public_id"
    lookup_value_converter = "uuid"
    filterset_fields = ["status", "kind"]
    ordering_fields = ["starts_at"]
    ordering = ["starts_at"]

    def get_queryset(self):
        return Appointment.objects.select_related("patient", "room", "session__course").prefetch_related(_people())

    def check_permissions(self, request):
        """WorkPermission's role check, with the pages' difference (healthcenter.access.requires): a role
        that may not work with citizens is refused under the citizen the request names (the
        appointment's, or `?citizen=`), so that the citizen's own log shows the attempt."""
        user = request.user
        if user and user.is_authenticated and not access.may(user, self.access_work):
            action = AccessAction.VIEW if request.method in permissions.SAFE_METHODS else AccessAction.UPDATE
            if "public_id" in self.kwargs:
                self._found(self.kwargs["public_id"], request.path, action)
            access.deny(user, what=request.path, action=action, patient_public_id=_citizen_named(request))
        super().check_permissions(request)

    def _found(self, public_id: uuid.UUID, what: str, action: AccessAction = AccessAction.VIEW) -> Appointment:
        return selectors.appointment_for(self.request.user, public_id, what=what, action=action)

    def _answer(self, appointment: Appointment, code: int = status.HTTP_200_OK) -> Response:
        appointment = self.get_queryset().get(pk=appointment.pk)
        return versioned(AppointmentSerializer(appointment, context={"request": self.request}), status=code)

    @extend_schema(
        parameters=[AppointmentListQuery],
        responses={200: AppointmentSerializer(many=True)},
    )
    def list(self, request, *args, **kwargs):
        query = valid(AppointmentListQuery(data=request.query_params))
        if query.validated_data.get("mine"):
            return self._my_day(query.validated_data.get("day") or timezone.localdate())
        patient = patient_selectors.patient_for(
            request.user, query.validated_data["citizen"], what=gettext_noop("API: appointments")
        )
        appointments = self.filter_queryset(self.get_queryset().filter(patient=patient))
        page = self.paginate_queryset(appointments)
        named = {a.pk for a in page}  # the citizen is the user's: patient_for decided it
        return self.get_paginated_response(
            AppointmentSerializer(page, many=True, context={"request": request, "named": named}).data
        )

    def _my_day(self, day: datetime.date) -> Response:
        """My day's appointments (selectors.my_day), in time order, the cancelled ones after: a day is one
        page. The course sessions the user teaches that day are `my-sessions/?day=`."""
        found = selectors.my_day(self.request.user, day)
        # Logged as the page logs it: one row with the day, not one per citizen.
        access.listed(self.request.user, f"API: my day {day.isoformat()}")
        items = [item for item in [*found.items, *found.cancelled] if item.appointment is not None]
        named = {item.appointment.pk for item in items if item.named}
        # my_day has read every professional of each appointment (ordered by name) with it.
        appointments = [item.appointment for item in items]
        data = AppointmentSerializer(appointments, many=True, context={"request": self.request, "named": named}).data
        return Response({"next": None, "previous": None, "results": data})

    @extend_schema(responses={200: AppointmentSerializer})
    def retrieve(self, request, public_id: uuid.UUID | None = None, **kwargs):
        appointment = self._found(public_id, gettext_noop("API: appointment"))
        return self._answer(appointment)

    @extend_schema(request=BookingSerializer, responses={201: AppointmentSerializer})
    def create(self, request, *args, **kwargs):
        """Books an appointment (scheduling.services.appointment_book). A professional or the room taken
        at that time: 400 with code "clash", the message naming who or what."""
        booking = valid(BookingSerializer(data=request.data))
        patient = patient_selectors.patient_for(
            request.user,
            booking.validated_data["citizen"],
            what=gettext_noop("API: book appointment"),
            action=AccessAction.UPDATE,
        )
        with rejection_logged(request.user, patient, gettext_noop("API: book appointment")):
            appointment = services.appointment_book(actor=request.user, patient=patient, data=booking.to_data())
        return self._answer(appointment, status.HTTP_201_CREATED)

    @extend_schema(request=MoveSerializer, responses={200: AppointmentSerializer})
    def partial_update(self, request, public_id: uuid.UUID | None = None, **kwargs):
        """Moves a booked appointment (scheduling.services.appointment_reschedule): send what changes
        and the version last read (`version`, or If-Match with the ETag)."""
        appointment = self._found(public_id, gettext_noop("API: move appointment"), AccessAction.UPDATE)
        version = expected_version(request)
        move = valid(MoveSerializer(data=request.data))
        given = move.validated_data
        data = services.AppointmentData(
            kind=given.get("kind", appointment.kind),
            starts_at=given.get("starts_at", appointment.starts_at),
            ends_at=given.get("ends_at", appointment.ends_at),
            place=given.get("place", appointment.place),
            professionals=given.get("professionals") or list(appointment.professionals.all()),
            room=given.get("room", appointment.room),
            purpose=given["purpose"] if "purpose" in request.data else appointment.purpose,
        )
        with rejection_logged(request.user, appointment.patient, gettext_noop("API: move appointment")):
            services.appointment_reschedule(
                actor=request.user, appointment=appointment, expected_version=version, data=data
            )
        return self._answer(appointment)

    @extend_schema(request=CancelSerializer, responses={200: AppointmentSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, public_id: uuid.UUID | None = None):
        """Cancels a booked appointment, by the citizen or by the centre, with the reason
        (scheduling.services.appointment_cancel); the professionals and the room are free again."""
        appointment = self._found(public_id, gettext_noop("API: cancel appointment"), AccessAction.UPDATE)
        version = expected_version(request)
        asked = valid(CancelSerializer(data=request.data)).validated_data
        with rejection_logged(request.user, appointment.patient, gettext_noop("API: cancel appointment")):
            services.appointment_cancel(
                actor=request.user,
                appointment=appointment,
                expected_version=version,
                by_citizen=asked["by_citizen"],
                reason=asked["reason"],
            )
        return self._answer(appointment)

    @extend_schema(request=VersionSerializer, responses={200: AppointmentSerializer})
    @action(detail=True, methods=["post"], url_path="did-not-attend", url_name="did-not-attend")
    def did_not_attend(self, request, public_id: uuid.UUID | None = None):
        """The citizen did not come (scheduling.services.appointment_did_not_attend): only once the
        appointment has begun."""
        appointment = self._found(public_id, gettext_noop("API: appointment not attended"), AccessAction.UPDATE)
        version = expected_version(request)
        with rejection_logged(request.user, appointment.patient, gettext_noop("API: appointment not attended")):
            services.appointment_did_not_attend(actor=request.user, appointment=appointment, expected_version=version)
        return self._answer(appointment)


# --- rooms ------------------------------------------------------------------------------------------------


@extend_schema(tags=["calendar"])
class RoomViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The centre's rooms (reference data: anyone who works with citizens books them)."""

    access_work = Work.CITIZENS
    serializer_class = RoomSerializer
    queryset = Room.objects.all()
    lookup_field = "public_id"
    lookup_value_converter = "uuid"
    filterset_fields = ["is_active"]
    ordering_fields = ["name"]
    ordering = ["name"]


# --- courses ----------------------------------------------------------------------------------------------


class SessionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)

    class Meta:
        model = CourseSession
        fields = ["id", "number", "starts_at", "ends_at", "cancelled", "registered_at"]
        read_only_fields = fields


class CourseSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    programme = serializers.CharField(source="programme.code", read_only=True)
    team = serializers.CharField(source="team.name", read_only=True)
    room = CalendarRoomSerializer(read_only=True)
    professionals = ProfessionalSerializer(many=True, read_only=True)

    class Meta:
        model = Course
        fields = [
            "id",
            "name",
            "programme",
            "team",
            "room",
            "professionals",
            "capacity",
            "weekday",
            "starts_at",
            "ends_at",
            "first_day",
            "session_count",
            "status",
            "version",
        ]
        read_only_fields = fields


class CourseDetailSerializer(CourseSerializer):
    sessions = SessionSerializer(many=True, read_only=True)

    class Meta(CourseSerializer.Meta):
        fields = [*CourseSerializer.Meta.fields, "sessions"]
        read_only_fields = fields


@extend_schema(tags=["calendar"])
class CourseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The courses of the user's teams (a course is its team's: selectors.course_for), with their
    sessions in the detail. Read only: courses are planned on their pages."""

    access_work = Work.CITIZENS
    serializer_class = CourseSerializer
    lookup_field = "public_id"
    lookup_value_converter = "uuid"
    filterset_fields = ["status"]
    ordering_fields = ["first_day", "name"]
    ordering = ["first_day"]

    def get_queryset(self):
        return (
            Course.objects.filter(team_id__in=access.care_team_ids(self.request.user))
            .select_related("programme", "team", "room")
            .prefetch_related(_people())
        )

    @extend_schema(responses={200: CourseDetailSerializer})
    def retrieve(self, request, public_id: uuid.UUID | None = None, **kwargs):
        course = selectors.course_for(request.user, public_id, what=gettext_noop("API: course"))
        course = (
            Course.objects.select_related("programme", "team", "room")
            .prefetch_related(_people(), "sessions")
            .get(pk=course.pk)
        )
        return versioned(CourseDetailSerializer(course))


class DaySessionSerializer(serializers.Serializer):
    """A course session the user teaches, as My day shows it: once, with its number of participants."""

    id = serializers.UUIDField(source="session.public_id")
    course = serializers.UUIDField(source="session.course.public_id")
    course_name = serializers.CharField(source="session.course.name")
    number = serializers.IntegerField(source="session.number")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    room = CalendarRoomSerializer(source="session.course.room")
    participants = serializers.IntegerField()
    cancelled = serializers.BooleanField()


class DaySessionPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="Always null: a day is one page.")
    previous = serializers.URLField(allow_null=True, help_text="Always null: a day is one page.")
    results = DaySessionSerializer(many=True)


class DayQuery(serializers.Serializer):
    day = serializers.DateField(required=False, help_text="The day (YYYY-MM-DD); today if left out.")

    def validate_day(self, value: datetime.date) -> datetime.date:
        return AppointmentListQuery().validate_day(value)


@extend_schema(tags=["calendar"])
class MySessionViewSet(viewsets.GenericViewSet):
    """The course sessions the user teaches on a day (selectors.my_day), the other half of My day
    beside `appointments/?mine=true&day=`; a day is one page."""

    access_work = Work.CITIZENS
    serializer_class = DaySessionSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(parameters=[DayQuery], responses={200: DaySessionPageSerializer, 400: ErrorSerializer})
    def list(self, request, *args, **kwargs):
        day = valid(DayQuery(data=request.query_params)).validated_data.get("day") or timezone.localdate()
        found = selectors.my_day(request.user, day)
        items = [item for item in [*found.items, *found.cancelled] if item.session is not None]
        return Response({"next": None, "previous": None, "results": DaySessionSerializer(items, many=True).data})


router = SimpleRouter()
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("rooms", RoomViewSet, basename="room")
router.register("courses", CourseViewSet, basename="course")
router.register("my-sessions", MySessionViewSet, basename="my-session")

app_name = "api-scheduling"
urlpatterns = router.urls
