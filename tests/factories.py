import datetime
import random
from decimal import Decimal

import factory
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from coordination.models import Referral, Task
from healthcenter.models import Profession, Role, Team, User
from patients.models import (
    Condition,
    ConditionKind,
    Consent,
    Encounter,
    EncounterKind,
    Enrolment,
    Goal,
    Measurement,
    MeasurementSource,
    MeasurementType,
    Patient,
    Programme,
    Relative,
)
from reporting.models import Story
from scheduling.models import Appointment, Reservation, Room

PASSWORD = "test-password-123"
_used_cpr: set[str] = set()


def valid_cpr(birth: datetime.date | None = None, *, female: bool | None = None) -> str:
    """A CPR number that parses, unique within the test run."""
    rng = random.Random()
    while True:
        day = birth or datetime.date(rng.randint(1930, 1990), rng.randint(1, 12), rng.randint(1, 28))
        seventh = rng.randint(0, 3) if day.year < 2000 else 4
        parity = (0 if female else 1) if female is not None else rng.randint(0, 1)
        last = rng.choice([d for d in range(10) if d % 2 == parity])
        number = f"{day:%d%m%y}{seventh}{rng.randint(0, 99):02d}{last}"
        if number not in _used_cpr:
            _used_cpr.add(number)
            return number


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    # Staff names from short lists of their own, never a citizen's (the tests' citizens are Faker
    # names and Karen Jensen): a page that must not show a citizen's name may show its user's.
    first_name = factory.Iterator(["Astrid", "Bjarke", "Cecilie", "Dorthe", "Esben", "Frida", "Gorm", "Hjørdis"])
    last_name = factory.Iterator(["Abildhauge", "Bundesen", "Dalhoff", "Fogtmann", "Mosbæk", "Tholstrup"])
    role = Role.PROFESSIONAL
    profession = Profession.NURSE
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def teams(self, create, extracted, **kwargs):
        if create and extracted:
            self.teams.set(extracted)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    cpr = factory.LazyFunction(valid_cpr)
    first_name = factory.Faker("first_name", locale="da_DK")
    last_name = factory.Faker("last_name", locale="da_DK")
    birth_date = factory.LazyAttribute(
        lambda o: datetime.date(
            (1900 if int(o.cpr[6]) <= 3 else 2000) + int(o.cpr[4:6]), int(o.cpr[2:4]), int(o.cpr[0:2])
        )
    )
    sex = factory.LazyAttribute(lambda o: "male" if int(o.cpr[9]) % 2 else "female")
    team = factory.SubFactory(TeamFactory)


class ConditionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Condition

    patient = factory.SubFactory(PatientFactory)
    kind = ConditionKind.DIABETES_TYPE_2
    icd10 = "E11"
    diagnosed_on = datetime.date(2015, 1, 1)


class EncounterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Encounter

    patient = factory.SubFactory(PatientFactory)
    professional = factory.SubFactory(UserFactory)
    kind = EncounterKind.INDIVIDUAL
    started_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=1))
    duration_minutes = 30
    note = factory.Faker("sentence", locale="da_DK")
    what_matters = "At kunne gå tur med hunden."
    signed_at = factory.LazyAttribute(lambda o: o.started_at + datetime.timedelta(hours=1))


class MeasurementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Measurement

    patient = factory.SubFactory(PatientFactory)
    type = factory.LazyFunction(lambda: MeasurementType.objects.get(code="hba1c"))
    value = Decimal(55)
    measured_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=2))
    source = MeasurementSource.MANUAL


class EnrolmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrolment

    patient = factory.SubFactory(PatientFactory)
    programme = factory.LazyFunction(lambda: Programme.objects.get(code="diabetes-follow-up"))
    referral_received_on = factory.LazyAttribute(lambda o: o.start_on)
    start_on = datetime.date(2020, 1, 1)
    end_reason = factory.LazyAttribute(lambda o: "completed" if o.end_on else "")


class RelativeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Relative

    patient = factory.SubFactory(PatientFactory)
    name = factory.Faker("name", locale="da_DK")
    relation = "datter"
    is_primary_caregiver = factory.LazyAttribute(
        lambda o: o.primary_caregiver_from is not None and o.primary_caregiver_until is None
    )
    primary_caregiver_from = None


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    patient = factory.SubFactory(PatientFactory)
    kind = "story_reports"
    given_on = datetime.date(2020, 1, 1)
    given_by = "Borgeren"
    recorded_by = factory.SubFactory(UserFactory)


class GoalFactory(factory.django.DjangoModelFactory):
    """Goal.created_at is set on insert: date a goal afterwards with a queryset update."""

    class Meta:
        model = Goal

    patient = factory.SubFactory(PatientFactory)
    text = "At have det godt"
    measurement_type = factory.LazyFunction(lambda: MeasurementType.objects.get(code="hba1c"))
    review_on = datetime.date(2030, 1, 1)
    created_by = factory.SubFactory(UserFactory)


class TaskFactory(factory.django.DjangoModelFactory):
    """Task.created_at is set on insert: date a task afterwards with a queryset update."""

    class Meta:
        model = Task

    title = factory.Sequence(lambda n: f"Opgave {n}")
    team = factory.SubFactory(TeamFactory)
    due_on = datetime.date(2030, 1, 1)


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    patient = factory.SubFactory(PatientFactory)
    team = factory.LazyAttribute(lambda o: o.patient.team)
    source = "gp"
    reason = "Henvist af egen læge"
    received_on = datetime.date(2024, 1, 1)
    decline_reason = factory.LazyAttribute(lambda o: "Ikke i målgruppen" if o.status == "declined" else "")
    status = "received"
    created_by = factory.SubFactory(UserFactory)


class StoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Story

    patient = factory.SubFactory(PatientFactory)
    author = factory.SubFactory(UserFactory)
    title = "En god historie"
    what_happened = "Borgeren fik det bedre."
    what_made_the_difference = "Samtalen."
    published_text = "Borgeren fik det bedre."


# --- the calendar (scheduling) ---------------------------------------------------------------------------


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    name = factory.Sequence(lambda n: f"Samtalerum {n}")
    location = "Stueetagen"
    capacity = 4


def _next_weekday_at(hour: int) -> datetime.datetime:
    """Tomorrow or the next working day at `hour` local time: a time every test can book."""
    day = timezone.localdate() + datetime.timedelta(days=1)
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


class AppointmentFactory(factory.django.DjangoModelFactory):
    """An appointment with its reservations, written directly (past ones too, which the booking
    service refuses); `professionals` defaults to the citizen's responsible professional."""

    class Meta:
        model = Appointment
        skip_postgeneration_save = True

    patient = factory.SubFactory(PatientFactory)
    kind = EncounterKind.INDIVIDUAL
    starts_at = factory.LazyFunction(lambda: _next_weekday_at(10))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + datetime.timedelta(minutes=45))
    place = factory.LazyAttribute(
        lambda o: "room" if o.room else ("remote" if o.kind in ("phone", "video") else "home")
    )
    room = None
    purpose = "Opfølgning"
    booked_by = factory.LazyAttribute(lambda o: o.patient.responsible_professional or UserFactory())

    @factory.post_generation
    def professionals(self, create, extracted, **kwargs):
        people = list(extracted) if extracted is not None else [self.booked_by]
        self.professionals.set(people)
        if self.status in ("booked", "attended", "did_not_attend") and self.session_id is None:
            during = DateTimeTZRange(self.starts_at, self.ends_at)
            Reservation.objects.bulk_create(
                [Reservation(during=during, professional=p, appointment=self) for p in people]
                + ([Reservation(during=during, room=self.room, appointment=self)] if self.room else [])
            )
