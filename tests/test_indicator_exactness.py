"""The stored monthly rollups equal an independent recomputation (tests/reference_indicators.py)
over a year of generated history in which every edge case of DESIGN.md is placed deliberately.

The small tests first hold the reference itself against hand arithmetic, one edge case each; the
year test then holds the product's rollups against the reference, row by row."""

import datetime
import random
from decimal import Decimal

import pytest
from django.db import connection, transaction

from coordination.models import Task, TaskTransition
from healthcenter.models import Role, User
from patients.models import AgreedAction, EncounterKind, Goal, MeasurementType, Patient, Programme, Relative
from patients.services import PatientData, patient_update
from reporting.models import Story
from reporting.rollups import run_rollups
from scheduling.models import Appointment, Course, CourseParticipant, CourseSession

from . import reference_indicators as ref
from .factories import (
    AppointmentFactory,
    ConditionFactory,
    ConsentFactory,
    EncounterFactory,
    EnrolmentFactory,
    GoalFactory,
    MeasurementFactory,
    PatientFactory,
    ReferralFactory,
    RelativeFactory,
    RoomFactory,
    StoryFactory,
    TaskFactory,
    TeamFactory,
    UserFactory,
)

D = datetime.date
YEAR_FIRST, YEAR_LAST = D(2024, 1, 1), D(2024, 12, 1)  # 2024 has a leap day
ICD10 = {
    "dm1": "E10",
    "dm2": "E11",
    "prediabetes": "R73",
    "dem_alzheimer": "G30",
    "dem_vascular": "F01",
    "dem_mixed": "F03",
    "dem_lewy": "G31.8",
    "dem_frontotemporal": "G31.0",
    "dem_unspecified": "F03",
    "mci": "F06.7",
}
DIABETES_PROGRAMMES = ["diabetes-follow-up", "diabetes-course"]
REASON = "Sygdom"
DEMENTIA_PROGRAMMES = ["dementia-follow-up", "caregiver-support"]


# --- building history ---------------------------------------------------------------------------------------------


def at(day: D, hour: int = 10, minute: int = 0) -> datetime.datetime:
    """A moment on a local day in Europe/Copenhagen."""
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=ref.LOCAL)


def clerk() -> User:
    """One member of staff behind every record: each factory-made user costs a password hash."""
    return User.objects.filter(username="clerk").first() or UserFactory(username="clerk", password=None)


def programme(code: str) -> Programme:
    return Programme.objects.get(code=code)


def citizen(
    team,
    *,
    conditions: tuple = (("dm2", D(2018, 1, 1)),),
    programmes: tuple = (("diabetes-follow-up", D(2020, 1, 1), None),),
) -> Patient:
    patient = PatientFactory(team=team)
    for kind, diagnosed_on in conditions:
        ConditionFactory(patient=patient, kind=kind, icd10=ICD10[kind], diagnosed_on=diagnosed_on)
    for code, start_on, end_on in programmes:
        EnrolmentFactory(patient=patient, programme=programme(code), start_on=start_on, end_on=end_on)
    return patient


def measure(patient, code: str, when: datetime.datetime, value=None, *, source: str = "lab", encounter=None):
    kind = MeasurementType.objects.get(code=code)
    return MeasurementFactory(
        patient=patient,
        type=kind,
        value=None if kind.kind == "procedure" else Decimal(value if value is not None else 50),
        result="normal" if kind.kind == "procedure" else "",
        measured_at=when,
        source="encounter" if encounter is not None else source,
        encounter=encounter,
    )


def encounter(patient, when: datetime.datetime, *, signed: bool = True, caregiver_present: bool = False, staff=None):
    return EncounterFactory(
        patient=patient,
        professional=staff or clerk(),
        started_at=when,
        signed_at=when + datetime.timedelta(hours=1) if signed else None,
        caregiver_present=caregiver_present,
    )


def goal(patient, created: datetime.datetime, low=None, high=None, *, code="hba1c", **fields) -> Goal:
    made = GoalFactory(
        patient=patient,
        measurement_type=MeasurementType.objects.get(code=code) if code else None,
        target_low=None if low is None else Decimal(low),
        target_high=None if high is None else Decimal(high),
        created_by=clerk(),
        **fields,
    )
    Goal.objects.filter(pk=made.pk).update(created_at=created)
    return made


def caregiver(patient, start: D, until: D | None = None) -> Relative:
    return RelativeFactory(patient=patient, primary_caregiver_from=start, primary_caregiver_until=until)


def task(team, created: datetime.datetime, due: D, *moves, patient=None, origin: str = "manual", action=None) -> Task:
    """A task with its transitions: moves are (moment, to_status) after the opening at `created`."""
    history = [(created, "open"), *moves]
    final = history[-1][1]
    done_at = history[-1][0] if final == "done" else None
    made = TaskFactory(
        team=team,
        patient=patient,
        due_on=due,
        status=final,
        completed_at=done_at,
        origin=origin,
        agreed_action=action,
    )
    Task.objects.filter(pk=made.pk).update(created_at=created)
    previous = ""
    for moment, status in history:
        transition = TaskTransition.objects.create(task=made, from_status=previous, to_status=status)
        TaskTransition.objects.filter(pk=transition.pk).update(at=moment)
        previous = status
    return made


def agreed_action_task(patient, created: datetime.datetime, due: D, *moves, staff=None) -> Task:
    met = encounter(patient, created - datetime.timedelta(hours=2), staff=staff)
    action = AgreedAction.objects.create(encounter=met, text="Gå en tur hver dag")
    return task(patient.team, created, due, *moves, patient=patient, origin="agreed_action", action=action)


def story(patient, decided: datetime.datetime, *, status: str = "approved") -> Story:
    return StoryFactory(patient=patient, status=status, decided_at=decided, author=clerk())


def referral(**fields):
    return ReferralFactory(created_by=clerk(), **fields)


def consent(**fields):
    return ConsentFactory(**{"recorded_by": clerk(), **fields})


def appointment(patient, when: datetime.datetime, status: str = "attended", *, session=None) -> Appointment:
    return AppointmentFactory(
        patient=patient,
        starts_at=when,
        ends_at=when + datetime.timedelta(minutes=45),
        status=status,
        cancel_reason=REASON if status.startswith("cancelled") else "",
        kind=EncounterKind.GROUP if session is not None else EncounterKind.INDIVIDUAL,
        session=session,
        booked_by=clerk(),
        professionals=[],
    )


def course(team, starts: list[datetime.datetime], *, cancelled: tuple[int, ...] = (), code="diabetes-course") -> Course:
    """A course with a session at each moment (numbered from 1); the sessions numbered in `cancelled`
    are cancelled."""
    made = Course.objects.create(
        name=f"Diabetesskole {len(starts)}",
        programme=Programme.objects.get(code=code),
        team=team,
        room=RoomFactory(),
        weekday=starts[0].weekday(),
        starts_at=datetime.time(10),
        ends_at=datetime.time(12),
        first_day=starts[0].date(),
        session_count=len(starts),
        created_by=clerk(),
    )
    for number, start in enumerate(starts, start=1):
        CourseSession.objects.create(
            course=made,
            number=number,
            starts_at=start,
            ends_at=start + datetime.timedelta(hours=2),
            cancelled=number in cancelled,
            **({"cancel_reason": REASON} if number in cancelled else {}),
        )
    return made


def weekly(first: D, count: int) -> list[datetime.datetime]:
    return [at(first + datetime.timedelta(weeks=n)) for n in range(count)]


def participant(
    made: Course, team, *, attended: set[int], dropped_out_on: D | None = None, patient: Patient | None = None
) -> CourseParticipant:
    """A citizen (a new one of the team unless given) as participant, with an appointment for each
    session: attended in the sessions numbered in `attended`, did not attend the other held ones before
    a drop-out, cancelled after it and in cancelled sessions."""
    patient = patient or PatientFactory(team=team)
    place = CourseParticipant.objects.create(
        course=made,
        patient=patient,
        joined_on=made.first_day - datetime.timedelta(days=30),
        status="dropped_out" if dropped_out_on else "enrolled",
        dropped_out_on=dropped_out_on,
        dropout_reason=REASON if dropped_out_on else "",
        added_by=clerk(),
    )
    for session in made.sessions.all():
        gone = dropped_out_on is not None and session.starts_at.astimezone(ref.LOCAL).date() > dropped_out_on
        if session.number in attended:
            status = "attended"
        elif session.cancelled or gone:
            status = "cancelled_centre" if session.cancelled else "cancelled_citizen"
        else:
            status = "did_not_attend"
        appointment(patient, session.starts_at, status, session=session)
    return place


def move(patient, team, on: D) -> None:
    """A change of responsible team dated `on`, made the way bulk changes are (see Patient's trigger)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('healthcenter.team_change_on', %s, true)", [on.isoformat()])
        Patient.objects.filter(pk=patient.pk).update(team=team)
        cursor.execute("SELECT set_config('healthcenter.team_change_on', '', true)")


def move_by_service(patient, team, on: D, *, actor, status: str = "active") -> None:
    patient.refresh_from_db()
    patient_update(
        actor=actor,
        patient=patient,
        expected_version=patient.version,
        data=PatientData(
            cpr=patient.cpr, first_name=patient.first_name, last_name=patient.last_name, team=team, status=status
        ),
        changed_on=on,
    )


def month_rows(code: str, month: D) -> dict[tuple[str, int], ref.Figures]:
    rows = ref.reference_rows(first_month=month, last_month=month)
    return {(kind, unit): figures for (c, _m, kind, unit), figures in rows.items() if c == code}


def centre(code: str, month: D) -> ref.Figures:
    return month_rows(code, month)[ref.CENTRE, 0]


# --- the reference against hand arithmetic -------------------------------------------------------------------------


def test_month_arithmetic_clips_to_the_end_of_the_month():
    assert ref.minus_months(D(2024, 10, 31), 12) == D(2023, 10, 31)
    assert ref.minus_months(D(2024, 9, 30), 6) == D(2024, 3, 30)
    assert ref.minus_months(D(2024, 2, 29), 12) == D(2023, 2, 28)
    assert ref.minus_months(D(2024, 2, 29), 24) == D(2022, 2, 28)
    assert ref.minus_months(D(2024, 8, 31), 6) == D(2024, 2, 29)
    assert ref.minus_months(D(2024, 1, 31), 1) == D(2023, 12, 31)
    assert ref.in_window(D(2024, 3, 31), last_day=D(2024, 9, 30), months=6)
    assert not ref.in_window(D(2024, 3, 30), last_day=D(2024, 9, 30), months=6)


@pytest.mark.django_db
def test_reference_counts_the_first_day_inside_each_window_and_not_the_last_day_outside(team):
    # 31 Oct 2024 - 12 months = 31 Oct 2023: 31 Oct late evening is outside, 1 Nov just after midnight
    # (still 31 Oct in UTC) inside.
    outside, inside = citizen(team), citizen(team)
    measure(outside, "hba1c", at(D(2023, 10, 31), 23, 30))
    measure(inside, "hba1c", at(D(2023, 11, 1), 0, 30))
    assert centre("DM-HBA1C-MEASURED", D(2024, 10, 1)) == (1, 2, Decimal("50.00"))
    assert centre("DM-HBA1C-MEASURED", D(2024, 9, 1)) == (2, 2, Decimal("100.00"))
    assert centre("DM-HBA1C-MEASURED", D(2024, 11, 1)) == (0, 2, Decimal("0.00"))
    # Leap day: 29 Feb 2024 - 12 months = 28 Feb 2023; - 24 months = 28 Feb 2022.
    measure(outside, "systolic_bp", at(D(2023, 2, 28), 12))
    measure(inside, "systolic_bp", at(D(2023, 3, 1), 0, 30))
    measure(outside, "urine_acr", at(D(2022, 2, 28), 23, 30))
    measure(inside, "urine_acr", at(D(2022, 3, 1), 0, 30))
    assert centre("DM-BP-MEASURED", D(2024, 2, 1)) == (1, 2, Decimal("50.00"))
    assert centre("DM-BP-MEASURED", D(2024, 1, 1)) == (2, 2, Decimal("100.00"))
    assert centre("DM-ALBUMIN-SCREENED", D(2024, 2, 1)) == (1, 2, Decimal("50.00"))
    # The window's end: 1 Apr just after midnight is 31 Mar in UTC, and not yet measured in March.
    measure(outside, "eye_screening", at(D(2024, 4, 1), 0, 30))
    measure(inside, "eye_screening", at(D(2024, 3, 31), 23, 30))
    assert centre("DM-EYE-SCREENED", D(2024, 3, 1)) == (1, 2, Decimal("50.00"))
    assert centre("DM-EYE-SCREENED", D(2024, 4, 1)) == (2, 2, Decimal("100.00"))


@pytest.mark.django_db
def test_reference_counts_lab_manual_and_signed_encounter_values_but_not_drafts(team):
    lab, manual, signed, draft = (citizen(team) for _ in range(4))
    measure(lab, "hba1c", at(D(2024, 5, 1)), 50, source="lab")
    measure(manual, "hba1c", at(D(2024, 5, 1)), 50, source="manual")
    measure(signed, "hba1c", at(D(2024, 5, 1)), 50, encounter=encounter(signed, at(D(2024, 5, 1))))
    measure(draft, "hba1c", at(D(2024, 5, 1)), 50, encounter=encounter(draft, at(D(2024, 5, 1)), signed=False))
    assert centre("DM-HBA1C-MEASURED", D(2024, 5, 1)) == (3, 4, Decimal("75.00"))
    # The draft's later value is not the latest HbA1c either.
    measure(manual, "hba1c", at(D(2024, 5, 20)), 90, encounter=encounter(manual, at(D(2024, 5, 20)), signed=False))
    assert centre("DM-HBA1C-GE75", D(2024, 5, 1)) == (0, 3, Decimal("0.00"))


@pytest.mark.django_db
def test_reference_population_needs_a_diagnosis_by_the_last_day_and_an_enrolment_active_on_it(team):
    follow_up, course = programme("diabetes-follow-up"), programme("diabetes-course")
    both = citizen(
        team,
        programmes=(("diabetes-follow-up", D(2020, 1, 1), None), ("diabetes-course", D(2024, 3, 1), D(2024, 6, 30))),
    )
    citizen(team, conditions=(("dm2", D(2024, 7, 1)),))  # diagnosed after June
    citizen(team, conditions=(("dm1", D(2024, 6, 30)),))  # diagnosed on L
    citizen(team, conditions=(("prediabetes", D(2020, 1, 1)),))
    citizen(team, programmes=(("diabetes-follow-up", D(2020, 1, 1), D(2024, 6, 30)),))  # ends on L
    citizen(team, programmes=(("diabetes-follow-up", D(2020, 1, 1), D(2024, 6, 29)),))  # ends the day before
    citizen(team, programmes=(("diabetes-follow-up", D(2024, 6, 30), None),))  # starts on L
    citizen(team, programmes=(("dementia-follow-up", D(2020, 1, 1), None),))  # not a diabetes programme
    measure(both, "hba1c", at(D(2024, 6, 1)))
    june = month_rows("DM-HBA1C-MEASURED", D(2024, 6, 1))
    assert june[ref.CENTRE, 0] == (1, 4, Decimal("25.00"))
    assert june[ref.TEAM, team.id] == (1, 4, Decimal("25.00"))
    assert june[ref.PROGRAMME, follow_up.id] == (1, 4, Decimal("25.00"))
    assert june[ref.PROGRAMME, course.id] == (1, 1, Decimal("100.00"))
    july = month_rows("DM-HBA1C-MEASURED", D(2024, 7, 1))
    assert july[ref.CENTRE, 0] == (1, 4, Decimal("25.00"))
    assert (ref.PROGRAMME, course.id) not in july
    # The centre row exists when nobody is counted; team and programme rows do not.
    assert month_rows("DM-HBA1C-MEASURED", D(2019, 1, 1)) == {(ref.CENTRE, 0): (0, 0, None)}


@pytest.mark.django_db
def test_reference_takes_the_latest_hba1c_with_ties_to_the_later_record(team):
    exactly_59, exactly_75, tied, earlier_high = (citizen(team) for _ in range(4))
    measure(exactly_59, "hba1c", at(D(2024, 3, 3)), 59)
    measure(exactly_75, "hba1c", at(D(2024, 3, 3)), 75)
    measure(tied, "hba1c", at(D(2024, 3, 3)), 80)
    measure(tied, "hba1c", at(D(2024, 3, 3)), 50)
    measure(earlier_high, "hba1c", at(D(2024, 1, 3)), 90)
    measure(earlier_high, "hba1c", at(D(2024, 3, 3)), 58)
    citizen(team)  # not measured: in neither denominator of the latest value
    assert centre("DM-HBA1C-LT59", D(2024, 3, 1)) == (2, 4, Decimal("50.00"))
    assert centre("DM-HBA1C-GE75", D(2024, 3, 1)) == (1, 4, Decimal("25.00"))


@pytest.mark.django_db
def test_reference_uses_the_hba1c_goal_in_force_on_the_last_day(team):
    def with_hba1c(value):
        patient = citizen(team)
        measure(patient, "hba1c", at(D(2024, 3, 10)), value)
        return patient

    goal(with_hba1c(53), at(D(2023, 1, 1)), 53, 70)  # lower end: inside
    goal(with_hba1c(70), at(D(2023, 1, 1)), 53, 70)  # upper end: inside
    goal(with_hba1c(71), at(D(2023, 1, 1)), None, 70)  # only an upper end: outside
    goal(with_hba1c(60), at(D(2023, 1, 1)), 40, 50, status="dropped", dropped_on=D(2024, 3, 30))  # not in force
    goal(with_hba1c(60), at(D(2023, 1, 1)), 55, 65, status="dropped", dropped_on=D(2024, 3, 31))  # in force on L
    goal(with_hba1c(60), at(D(2023, 1, 1)), 55, 65, status="achieved", achieved_on=D(2024, 2, 1))
    two_goals = with_hba1c(55)
    goal(two_goals, at(D(2023, 1, 1)), 40, 60)
    goal(two_goals, at(D(2024, 3, 31), 23, 30), 60, 70)  # created on L late evening: the latest wins
    later = with_hba1c(55)
    goal(later, at(D(2023, 1, 1)), 40, 60)
    goal(later, at(D(2024, 4, 1), 0, 30), 60, 70)  # 31 Mar in UTC, but created after L
    goal(with_hba1c(55), at(D(2023, 1, 1)), code="hba1c")  # no target range
    goal(with_hba1c(55), at(D(2023, 1, 1)), 20, 30, code="weight")
    assert centre("DM-AT-OWN-TARGET", D(2024, 3, 1)) == (5, 7, Decimal("71.43"))
    assert centre("DM-AT-OWN-TARGET", D(2024, 4, 1)) == (3, 6, Decimal("50.00"))


@pytest.mark.django_db
def test_reference_dementia_population_leaves_out_mci_and_takes_the_latest_diagnosis(team):
    dem = (("dementia-follow-up", D(2020, 1, 1), None),)
    citizen(team, conditions=(("mci", D(2020, 1, 1)),), programmes=dem)
    citizen(team, conditions=(("dem_unspecified", D(2020, 1, 1)), ("dem_alzheimer", D(2024, 6, 15))), programmes=dem)
    citizen(team, conditions=(("dem_unspecified", D(2020, 1, 1)), ("mci", D(2024, 1, 1))), programmes=dem)
    citizen(team, conditions=(("dem_vascular", D(2022, 1, 1)), ("dem_unspecified", D(2022, 1, 1))), programmes=dem)
    citizen(team, conditions=(("dem_lewy", D(2024, 7, 1)),), programmes=dem)
    citizen(team, conditions=(("dem_mixed", D(2020, 1, 1)),), programmes=(("diabetes-follow-up", D(2020, 1, 1), None),))
    both = citizen(
        team,
        conditions=(("dem_frontotemporal", D(2020, 1, 1)),),
        programmes=(*dem, ("caregiver-support", D(2021, 1, 1), None)),
    )
    measure(both, "mmse", at(D(2023, 7, 1), 0, 30))
    may, june = month_rows("DEM-SPECIFIC-DIAGNOSIS", D(2024, 5, 1)), month_rows("DEM-SPECIFIC-DIAGNOSIS", D(2024, 6, 1))
    assert may[ref.CENTRE, 0] == (1, 4, Decimal("25.00"))
    assert june[ref.CENTRE, 0] == (2, 4, Decimal("50.00"))
    assert june[ref.PROGRAMME, programme("caregiver-support").id] == (1, 1, Decimal("100.00"))
    assert month_rows("DEM-SPECIFIC-DIAGNOSIS", D(2024, 7, 1))[ref.CENTRE, 0] == (3, 5, Decimal("60.00"))
    assert centre("DEM-COGNITION-TESTED", D(2024, 6, 1)) == (1, 4, Decimal("25.00"))
    assert centre("DEM-COGNITION-TESTED", D(2024, 7, 1)) == (0, 5, Decimal("0.00"))


@pytest.mark.django_db
def test_reference_caregiver_contact_needs_a_caregiver_on_the_last_day_and_a_signed_contact(team):
    dem = (("dementia-follow-up", D(2020, 1, 1), None),)
    on_boundary, after_boundary, registered_later, replaced, ended, draft_only = (
        citizen(team, conditions=(("dem_alzheimer", D(2020, 1, 1)),), programmes=dem) for _ in range(6)
    )
    # 30 Sep - 6 months = 30 Mar: 31 Mar just after midnight (30 Mar in UTC, the night clocks go forward) is inside.
    caregiver(on_boundary, D(2020, 1, 1))
    encounter(on_boundary, at(D(2024, 3, 30), 23, 30), caregiver_present=True)
    caregiver(after_boundary, D(2020, 1, 1))
    encounter(after_boundary, at(D(2024, 3, 31), 0, 30), caregiver_present=True)
    # Spoken with in April, registered as primary caregiver from June.
    encounter(registered_later, at(D(2024, 4, 10)), caregiver_present=True)
    caregiver(registered_later, D(2024, 6, 1))
    # Replaced on 30 Jun: the old role ends that day, the new one starts.
    caregiver(replaced, D(2020, 1, 1), D(2024, 6, 30))
    caregiver(replaced, D(2024, 6, 30))
    encounter(replaced, at(D(2024, 5, 1)), caregiver_present=True)
    caregiver(ended, D(2020, 1, 1), D(2024, 6, 30))
    encounter(ended, at(D(2024, 5, 1)), caregiver_present=True)
    caregiver(draft_only, D(2020, 1, 1))
    encounter(draft_only, at(D(2024, 5, 1)), caregiver_present=True, signed=False)
    encounter(draft_only, at(D(2024, 5, 2)), caregiver_present=False)
    assert centre("DEM-CAREGIVER-CONTACT", D(2024, 5, 1)) == (4, 6, Decimal("66.67"))
    assert centre("DEM-CAREGIVER-CONTACT", D(2024, 6, 1)) == (4, 6, Decimal("66.67"))
    assert centre("DEM-CAREGIVER-CONTACT", D(2024, 9, 1)) == (3, 6, Decimal("50.00"))
    # 31 Oct - 6 months = 30 Apr: only the contact of 1 May is still inside.
    assert centre("DEM-CAREGIVER-CONTACT", D(2024, 10, 1)) == (1, 6, Decimal("16.67"))


@pytest.mark.django_db
def test_reference_counts_a_citizen_for_the_team_responsible_on_the_last_day(team, other_team):
    actor = UserFactory(teams=[team, other_team], password=None)
    by_service, by_update, twice_on_one_day = citizen(team), citizen(team), citizen(team)
    third_team = TeamFactory()
    move_by_service(by_service, other_team, D(2024, 6, 15), actor=actor)
    move(by_update, other_team, D(2024, 6, 30))
    move(twice_on_one_day, other_team, D(2024, 5, 10))
    move(twice_on_one_day, third_team, D(2024, 5, 10))
    may, june = month_rows("DM-HBA1C-MEASURED", D(2024, 5, 1)), month_rows("DM-HBA1C-MEASURED", D(2024, 6, 1))
    assert may[ref.TEAM, team.id][1] == 2
    assert may[ref.TEAM, third_team.id][1] == 1
    assert (ref.TEAM, other_team.id) not in may
    assert (ref.TEAM, team.id) not in june
    assert june[ref.TEAM, other_team.id][1] == 2


@pytest.mark.django_db
def test_reference_wait_days_take_the_first_signed_encounter_on_or_after_receipt(team, other_team):
    staff = clerk()
    follow_up = programme("diabetes-follow-up")
    waits = {}
    for days, first_is_draft in [(3, False), (8, True), (11, False), (20, False)]:
        patient = citizen(team)
        referral(patient=patient, received_on=D(2024, 3, 1), programme=follow_up if days > 5 else None)
        encounter(patient, at(D(2024, 2, 28)), staff=staff)  # before receipt: not the first contact
        if first_is_draft:
            encounter(patient, at(D(2024, 3, 2)), signed=False, staff=staff)
        encounter(patient, at(D(2024, 3, 1 + days)), staff=staff)
        waits[days] = patient
    move(waits[20], other_team, D(2024, 3, 15))
    declined = citizen(team)
    referral(patient=declined, received_on=D(2024, 3, 1), status="declined")
    encounter(declined, at(D(2024, 3, 5)), staff=staff)
    same_night = citizen(team)
    referral(patient=same_night, received_on=D(2024, 4, 1))
    encounter(same_night, at(D(2024, 4, 1), 0, 30), staff=staff)  # 31 Mar in UTC: 0 days, in April
    march = month_rows("OPS-WAIT-DAYS", D(2024, 3, 1))
    assert march[ref.CENTRE, 0] == (4, 4, Decimal("9.50"))
    assert march[ref.TEAM, team.id] == (3, 3, Decimal("8.00"))
    assert march[ref.TEAM, other_team.id] == (1, 1, Decimal("20.00"))
    assert march[ref.PROGRAMME, follow_up.id] == (3, 3, Decimal("11.00"))
    assert month_rows("OPS-WAIT-DAYS", D(2024, 4, 1))[ref.CENTRE, 0] == (1, 1, Decimal("0.00"))
    assert month_rows("OPS-WAIT-DAYS", D(2024, 5, 1)) == {(ref.CENTRE, 0): (0, 0, None)}
    referral(patient=waits[3], received_on=D(2024, 3, 3))  # a second referral: 1 day, median of five
    assert centre("OPS-WAIT-DAYS", D(2024, 3, 1)) == (5, 5, Decimal("8.00"))


@pytest.mark.django_db
def test_reference_tasks_open_at_the_end_of_the_last_day(team, other_team):
    end, next_day = D(2024, 2, 29), D(2024, 3, 1)
    task(team, at(D(2024, 2, 1)), D(2024, 2, 10))  # open, overdue
    task(team, at(D(2024, 2, 1)), end)  # open, due on L: not overdue
    task(team, at(D(2024, 2, 1)), D(2024, 2, 10), (at(end, 23, 30), "done"))  # closed on L
    task(team, at(D(2024, 2, 1)), D(2024, 2, 10), (at(next_day, 0, 30), "done"))  # closed after L (UTC: on L)
    task(team, at(D(2024, 2, 1)), D(2024, 2, 10), (at(D(2024, 2, 5)), "in_progress"))  # open
    task(team, at(D(2024, 2, 1)), D(2024, 2, 10), (at(D(2024, 2, 5)), "cancelled"))
    reopened = (at(D(2024, 2, 5)), "done"), (at(D(2024, 3, 5)), "open"), (at(D(2024, 3, 6)), "in_progress")
    task(other_team, at(D(2024, 1, 1)), D(2024, 1, 10), *reopened)
    task(team, at(next_day, 0, 30), D(2024, 2, 10))  # created after L
    february = month_rows("OPS-TASKS-OVERDUE", D(2024, 2, 1))
    assert february[ref.CENTRE, 0] == (3, 4, Decimal("75.00"))
    assert (ref.TEAM, other_team.id) not in february
    march = month_rows("OPS-TASKS-OVERDUE", D(2024, 3, 1))
    assert march[ref.CENTRE, 0] == (5, 5, Decimal("100.00"))
    assert march[ref.TEAM, other_team.id] == (1, 1, Decimal("100.00"))


@pytest.mark.django_db
def test_reference_loop_closed_counts_agreed_actions_done_by_their_due_date(team):
    patient = citizen(team)
    due = D(2024, 5, 15)
    agreed_action_task(patient, at(D(2024, 5, 1)), due, (at(due, 23, 30), "done"))
    agreed_action_task(patient, at(D(2024, 5, 1)), due, (at(D(2024, 5, 16), 0, 30), "done"))  # 15 May in UTC
    agreed_action_task(patient, at(D(2024, 5, 1)), due, (at(D(2024, 5, 2)), "done"))
    agreed_action_task(patient, at(D(2024, 5, 1)), due)  # still open
    agreed_action_task(patient, at(D(2024, 5, 1)), due, (at(D(2024, 5, 10)), "cancelled"))
    agreed_action_task(patient, at(D(2024, 5, 1)), due, (at(D(2024, 6, 10)), "cancelled"))  # after the month
    agreed_action_task(patient, at(D(2024, 5, 1)), due, (at(D(2024, 5, 2)), "done"), (at(D(2024, 5, 3)), "open"))
    agreed_action_task(patient, at(D(2024, 5, 1)), D(2024, 6, 1), (at(D(2024, 5, 2)), "done"))  # due in June
    task(team, at(D(2024, 5, 1)), due, (at(D(2024, 5, 2)), "done"), patient=patient)  # not an agreed action
    assert centre("OPS-LOOP-CLOSED", D(2024, 5, 1)) == (2, 5, Decimal("40.00"))
    assert centre("OPS-LOOP-CLOSED", D(2024, 6, 1)) == (1, 1, Decimal("100.00"))


@pytest.mark.django_db
def test_reference_stories_count_quarter_to_date_while_the_consent_holds(team, other_team):
    consenting, withdrawn, regiven = citizen(team), citizen(team), citizen(team)
    consent(patient=consenting)
    consent(patient=withdrawn, withdrawn_on=D(2024, 8, 1), withdrawn_by="Borgeren")
    consent(patient=regiven, withdrawn_on=D(2024, 8, 1), withdrawn_by="Borgeren")
    consent(patient=regiven, given_on=D(2024, 9, 1))
    story(consenting, at(D(2024, 3, 31), 23, 30))  # first quarter
    story(consenting, at(D(2024, 4, 1), 0, 30))  # 31 Mar in UTC, second quarter
    story(consenting, at(D(2024, 5, 10)))
    story(withdrawn, at(D(2024, 5, 10)))
    story(regiven, at(D(2024, 6, 30), 23, 30))
    story(consenting, at(D(2024, 6, 10)), status="returned")
    move(regiven, other_team, D(2024, 6, 1))
    assert month_rows("STORIES-APPROVED", D(2024, 3, 1)) == {
        (ref.CENTRE, 0): (1, 1, Decimal(1)),
        (ref.TEAM, team.id): (1, 1, Decimal(1)),
    }
    assert centre("STORIES-APPROVED", D(2024, 4, 1)) == (1, 1, Decimal(1))
    june = month_rows("STORIES-APPROVED", D(2024, 6, 1))
    assert june == {
        (ref.CENTRE, 0): (3, 3, Decimal(3)),
        (ref.TEAM, team.id): (2, 2, Decimal(2)),
        (ref.TEAM, other_team.id): (1, 1, Decimal(1)),
    }
    assert centre("STORIES-APPROVED", D(2024, 7, 1)) == (0, 0, Decimal(0))


# --- a year of history, every stored row against the reference ------------------------------------------------------


def random_day(rng: random.Random, first: D, last: D) -> D:
    return first + datetime.timedelta(days=rng.randint(0, (last - first).days))


def random_moment(rng: random.Random, day: D) -> datetime.datetime:
    # Hours near midnight on purpose: local and UTC dates differ there.
    return at(day, rng.choice([0, 0, 1, 8, 10, 13, 15, 22, 23]), rng.choice([0, 15, 30, 59]))


def random_citizens(rng: random.Random, *, teams: list, staff, count: int) -> None:  # noqa: PLR0912
    for index in range(count):
        diabetic = index % 3 != 0
        if diabetic:
            kind = rng.choices(["dm2", "dm1", "prediabetes"], [80, 15, 5])[0]
            codes = rng.sample(DIABETES_PROGRAMMES, k=rng.choice([1, 1, 1, 2]))
        else:
            kind = rng.choice([*sorted(ref.DEMENTIA), "mci"])
            codes = rng.sample(DEMENTIA_PROGRAMMES, k=rng.choice([1, 1, 2]))
        enrolments = []
        for code in codes:
            start = random_day(rng, D(2019, 1, 1), D(2024, 11, 30))
            end = random_day(rng, start, D(2025, 6, 30)) if rng.random() < 0.3 else None
            enrolments.append((code, start, end))
        patient = citizen(
            rng.choice(teams),
            conditions=((kind, random_day(rng, D(2015, 1, 1), D(2024, 12, 31))),),
            programmes=tuple(enrolments),
        )
        kinds = ["hba1c", "systolic_bp", "urine_acr", "eye_screening", "foot_exam"] if diabetic else ["mmse"]
        for code in kinds:
            day = random_day(rng, D(2021, 6, 1), D(2022, 6, 1))
            step = (60, 250) if code in ("hba1c", "systolic_bp", "mmse") else (200, 500)
            while day <= D(2024, 12, 31):
                source = rng.choices(["lab", "manual", "encounter"], [40, 20, 40])[0]
                when = random_moment(rng, day)
                met = (
                    encounter(patient, when, signed=rng.random() < 0.85, staff=staff) if source == "encounter" else None
                )
                value = {
                    "hba1c": rng.randint(40, 95),
                    "systolic_bp": rng.randint(110, 170),
                    "mmse": rng.randint(12, 29),
                }
                measure(patient, code, when, value.get(code, rng.randint(1, 30)), source=source, encounter=met)
                day += datetime.timedelta(days=rng.randint(*step))
        if diabetic and rng.random() < 0.5:
            for _ in range(rng.choice([1, 1, 2])):
                low = rng.choice([None, 45, 48, 53])
                high = rng.choice([None, 58, 65, 70]) if low is not None else rng.choice([58, 65, 70])
                created = random_day(rng, D(2022, 6, 1), D(2024, 11, 1))
                state = rng.choices(["active", "achieved", "dropped"], [60, 20, 20])[0]
                goal(
                    patient,
                    random_moment(rng, created),
                    low,
                    high,
                    status=state,
                    achieved_on=created + datetime.timedelta(days=90) if state == "achieved" else None,
                    dropped_on=random_day(rng, created, D(2024, 12, 31)) if state == "dropped" else None,
                )
        if not diabetic:
            day = random_day(rng, D(2023, 1, 1), D(2023, 9, 1))
            while day <= D(2024, 12, 31):
                encounter(patient, random_moment(rng, day), signed=rng.random() < 0.85, caregiver_present=True)
                day += datetime.timedelta(days=rng.randint(40, 200))
            if rng.random() < 0.75:
                start = random_day(rng, D(2021, 1, 1), D(2024, 10, 1))
                if rng.random() < 0.3:
                    handover = random_day(rng, start, D(2024, 12, 31))
                    caregiver(patient, start, handover)
                    if rng.random() < 0.7:
                        caregiver(patient, handover)
                else:
                    caregiver(patient, start)
        for _ in range(rng.choice([0, 1, 2, 3])):
            created = random_moment(rng, random_day(rng, D(2023, 6, 1), D(2024, 12, 20)))
            due = created.date() + datetime.timedelta(days=rng.randint(-3, 60))
            moves, moment = [], created
            for status in rng.choice(
                [[], ["in_progress"], ["done"], ["cancelled"], ["in_progress", "done"], ["done", "open"]]
            ):
                moment = random_moment(rng, moment.date() + datetime.timedelta(days=rng.randint(0, 70)))
                moves.append((moment, status))
            if rng.random() < 0.5:
                agreed_action_task(patient, created, due, *moves, staff=staff)
            else:
                task(patient.team, created, due, *moves, patient=patient)
        if rng.random() < 0.5:
            received = random_day(rng, D(2023, 11, 1), D(2024, 11, 30))
            status = rng.choices(["received", "declined", "accepted"], [30, 20, 50])[0]
            enrolment = None
            if status == "accepted":
                enrolment = EnrolmentFactory(
                    patient=patient,
                    programme=programme(codes[0]),
                    referral_received_on=received,
                    start_on=received + datetime.timedelta(days=7),
                    end_on=received + datetime.timedelta(days=8),
                )
            referral(
                patient=patient,
                received_on=received,
                status=status,
                programme=enrolment.programme if enrolment else None,
                enrolment=enrolment,
            )
            for _ in range(rng.choice([1, 2])):
                first = received + datetime.timedelta(days=rng.randint(0, 45))
                encounter(patient, random_moment(rng, first), signed=rng.random() < 0.8, staff=staff)
        if rng.random() < 0.2:
            consent(patient=patient, recorded_by=staff)
            for _ in range(rng.choice([1, 2])):
                story(patient, random_moment(rng, random_day(rng, D(2024, 1, 1), D(2024, 12, 31))))


def deliberate_edge_cases(*, teams: dict, staff, coordinator) -> None:
    """Each case of DESIGN.md, placed so that it decides at least one month's figure."""
    north, south = teams["north"], teams["south"]
    dem = (("dementia-follow-up", D(2020, 1, 1), None),)
    # Window boundaries, with moments just after local midnight (the previous day in UTC).
    p = citizen(north)
    measure(p, "hba1c", at(D(2023, 10, 31), 23, 30), 60)
    p = citizen(north)
    measure(p, "hba1c", at(D(2023, 11, 1), 0, 30), 74)
    measure(p, "systolic_bp", at(D(2023, 2, 28), 23, 59))
    measure(p, "urine_acr", at(D(2022, 2, 28), 12))
    measure(p, "eye_screening", at(D(2022, 10, 31), 23, 30))
    measure(p, "foot_exam", at(D(2022, 6, 30), 23, 30))
    p = citizen(south)
    measure(p, "hba1c", at(D(2023, 3, 1), 0, 30), 76)
    measure(p, "systolic_bp", at(D(2023, 3, 1), 0, 30))
    measure(p, "urine_acr", at(D(2022, 3, 1), 0, 30))
    measure(p, "eye_screening", at(D(2022, 11, 1), 0, 30))
    measure(p, "foot_exam", at(D(2022, 7, 1), 0, 30))
    measure(p, "systolic_bp", at(D(2024, 2, 29), 23, 30))
    measure(p, "hba1c", at(D(2024, 4, 1), 0, 30), 52)  # 31 Mar in UTC: April's latest, not March's
    # Thresholds, ties and drafts.
    for value in (59, 75, Decimal("58.99"), Decimal("74.99")):
        measure(citizen(north), "hba1c", at(D(2024, 6, 30), 23, 30), value)
    p = citizen(south)
    measure(p, "hba1c", at(D(2024, 5, 5), 9), 80)
    measure(p, "hba1c", at(D(2024, 5, 5), 9), 50)
    p = citizen(south)
    measure(p, "hba1c", at(D(2024, 2, 2)), 50)
    measure(p, "hba1c", at(D(2024, 7, 2)), 90, encounter=encounter(p, at(D(2024, 7, 2)), signed=False, staff=staff))
    p = citizen(north)
    measure(p, "hba1c", at(D(2024, 1, 5)), 66, encounter=encounter(p, at(D(2024, 1, 5)), signed=False, staff=staff))
    # Populations: diagnosis after the period, on L, prediabetes, MCI, enrolments ending on and before L.
    measure(citizen(north, conditions=(("dm2", D(2025, 1, 10)),)), "hba1c", at(D(2024, 5, 1)))
    measure(citizen(north, conditions=(("dm2", D(2024, 6, 30)),)), "hba1c", at(D(2024, 5, 1)))
    measure(citizen(south, conditions=(("dm1", D(2024, 7, 1)),)), "hba1c", at(D(2024, 5, 1)))
    measure(citizen(south, conditions=(("prediabetes", D(2019, 1, 1)),)), "hba1c", at(D(2024, 5, 1)))
    measure(
        citizen(south, conditions=(("prediabetes", D(2019, 1, 1)), ("dm2", D(2024, 9, 15)))), "hba1c", at(D(2024, 9, 1))
    )
    citizen(north, programmes=(("diabetes-follow-up", D(2020, 1, 1), D(2024, 5, 31)),))
    citizen(north, programmes=(("diabetes-follow-up", D(2020, 1, 1), D(2024, 4, 29)),))
    citizen(north, programmes=(("diabetes-course", D(2024, 3, 31), D(2024, 3, 31)),))
    p = citizen(
        south,
        programmes=(
            ("diabetes-follow-up", D(2020, 1, 1), D(2024, 5, 31)),
            ("diabetes-follow-up", D(2024, 5, 15), None),
            ("diabetes-course", D(2024, 2, 1), D(2024, 8, 31)),
        ),
    )
    measure(p, "hba1c", at(D(2024, 1, 1), 0, 30), 57)
    citizen(north, conditions=(("mci", D(2020, 1, 1)),), programmes=dem)
    citizen(north, conditions=(("dem_lewy", D(2020, 1, 1)),), programmes=(("diabetes-course", D(2020, 1, 1), None),))
    # Goals: dropped before and on L, achieved, two goals, range ends, goals without a usable target.
    for low, high, value, fields in [
        (53, 70, 53, {}),
        (53, 70, 70, {}),
        (None, 58, 58, {}),
        (40, 50, 60, {"status": "dropped", "dropped_on": D(2024, 8, 30)}),
        (55, 65, 60, {"status": "dropped", "dropped_on": D(2024, 8, 31)}),
        (55, 65, 60, {"status": "achieved", "achieved_on": D(2024, 2, 1)}),
    ]:
        p = citizen(south)
        measure(p, "hba1c", at(D(2024, 8, 1)), value)
        goal(p, at(D(2023, 12, 31), 23, 30), low, high, **fields)
    p = citizen(north)
    measure(p, "hba1c", at(D(2024, 8, 1)), 55)
    goal(p, at(D(2023, 12, 31)), 40, 60)
    goal(p, at(D(2024, 8, 31), 23, 30), 60, 70)
    p = citizen(north)
    measure(p, "hba1c", at(D(2024, 8, 1)), 55)
    goal(p, at(D(2023, 12, 31)), 40, 60)
    goal(p, at(D(2024, 9, 1), 0, 30), 60, 70)
    p = citizen(north)
    measure(p, "hba1c", at(D(2024, 8, 1)), 55)
    goal(p, at(D(2023, 12, 31)))
    goal(p, at(D(2023, 12, 31)), 20, 30, code="weight")
    # Dementia diagnoses and caregivers.
    for conditions in [
        (("dem_unspecified", D(2020, 1, 1)), ("dem_alzheimer", D(2024, 6, 15))),
        (("dem_unspecified", D(2020, 1, 1)), ("mci", D(2024, 1, 1))),
        (("dem_vascular", D(2022, 1, 1)), ("dem_unspecified", D(2022, 1, 1))),
        (("dem_frontotemporal", D(2025, 2, 1)),),
    ]:
        citizen(south, conditions=conditions, programmes=dem)
    both = (*dem, ("caregiver-support", D(2021, 1, 1), None))
    p = citizen(south, conditions=(("dem_mixed", D(2020, 1, 1)),), programmes=both)
    caregiver(p, D(2020, 1, 1))
    encounter(p, at(D(2024, 3, 30), 23, 30), caregiver_present=True, staff=staff)
    measure(p, "mmse", at(D(2023, 12, 31), 23, 30), 24)
    p = citizen(south, conditions=(("dem_alzheimer", D(2020, 1, 1)),), programmes=dem)
    caregiver(p, D(2020, 1, 1))
    encounter(p, at(D(2024, 3, 31), 0, 30), caregiver_present=True, staff=staff)
    measure(p, "mmse", at(D(2024, 1, 1), 0, 30), 24)
    p = citizen(south, conditions=(("dem_alzheimer", D(2020, 1, 1)),), programmes=dem)
    encounter(p, at(D(2024, 4, 10)), caregiver_present=True, staff=staff)
    caregiver(p, D(2024, 6, 1))
    p = citizen(north, conditions=(("dem_vascular", D(2020, 1, 1)),), programmes=both)
    encounter(p, at(D(2024, 5, 1)), caregiver_present=True, staff=staff)
    caregiver(p, D(2020, 1, 1), D(2024, 7, 31))
    caregiver(p, D(2024, 7, 31))
    p = citizen(north, conditions=(("dem_vascular", D(2020, 1, 1)),), programmes=dem)
    encounter(p, at(D(2024, 5, 1)), caregiver_present=True, staff=staff)
    caregiver(p, D(2020, 1, 1), D(2024, 7, 31))
    p = citizen(north, conditions=(("dem_vascular", D(2020, 1, 1)),), programmes=dem)
    encounter(p, at(D(2024, 5, 1)), caregiver_present=True, staff=staff)
    caregiver(p, D(2020, 1, 1), D(2024, 8, 1))
    p = citizen(north, conditions=(("dem_vascular", D(2020, 1, 1)),), programmes=dem)
    encounter(p, at(D(2024, 5, 1)), caregiver_present=True, signed=False, staff=staff)
    caregiver(p, D(2024, 5, 31))
    # Team moves: by the service mid-year, by a bulk update on L and the day after L, twice on one day;
    # a discharge by the service ends the enrolments that day.
    p = citizen(north)
    measure(p, "hba1c", at(D(2024, 1, 1)), 60)
    move_by_service(p, south, D(2024, 6, 15), actor=coordinator)
    p = citizen(north)
    measure(p, "hba1c", at(D(2024, 1, 1)), 60)
    move(p, south, D(2024, 8, 31))
    move(p, teams["four"], D(2024, 10, 1))
    p = citizen(south)
    move(p, north, D(2024, 4, 10))
    move(p, teams["dementia"], D(2024, 4, 10))
    p = citizen(north, conditions=(("dem_mixed", D(2020, 1, 1)),), programmes=both)
    move_by_service(p, north, D(2024, 8, 20), actor=coordinator, status="discharged")
    # Waiting times: a draft first encounter, declined and undecided referrals, encounters before receipt,
    # a contact on the night of the receipt, a citizen moved between receipt and contact.
    follow_up = programme("diabetes-follow-up")
    for received, days, first_is_draft, status, prog in [
        (D(2024, 3, 1), 3, False, "received", None),
        (D(2024, 3, 1), 8, True, "received", follow_up),
        (D(2024, 3, 1), 10, False, "received", follow_up),
        (D(2024, 2, 20), 15, False, "declined", None),
        (D(2024, 4, 28), 4, True, "received", follow_up),
        (D(2024, 5, 1), 0, False, "received", None),
    ]:
        p = citizen(south)
        referral(patient=p, received_on=received, status=status, programme=prog)
        encounter(p, at(received - datetime.timedelta(days=2)), staff=staff)
        if first_is_draft:
            encounter(p, at(received + datetime.timedelta(days=1)), signed=False, staff=staff)
        encounter(p, at(received + datetime.timedelta(days=days), 0 if days == 0 else 10, 30), staff=staff)
        if days == 10:
            move(p, north, received + datetime.timedelta(days=5))
    # Tasks open, done, cancelled and reopened around month ends, and agreed actions done on and after due.
    end, after = D(2024, 2, 29), D(2024, 3, 1)
    task(north, at(D(2024, 2, 1)), D(2024, 2, 10))
    task(north, at(D(2024, 2, 1)), end)
    task(north, at(D(2024, 2, 1)), D(2024, 2, 10), (at(end, 23, 30), "done"))
    task(north, at(D(2024, 2, 1)), D(2024, 2, 10), (at(after, 0, 30), "done"))
    task(north, at(D(2024, 2, 1)), D(2024, 2, 10), (at(D(2024, 2, 5)), "in_progress"))
    task(south, at(D(2024, 2, 1)), D(2024, 2, 10), (at(end, 23, 59), "cancelled"))
    task(south, at(D(2024, 1, 1)), D(2024, 1, 10), (at(D(2024, 2, 5)), "done"), (at(D(2024, 3, 5)), "open"))
    task(south, at(after, 0, 30), D(2024, 2, 10))
    task(teams["dementia"], at(D(2024, 11, 30), 23, 30), D(2024, 11, 30))
    p = citizen(north)
    due = D(2024, 5, 15)
    agreed_action_task(p, at(D(2024, 5, 1)), due, (at(due, 23, 30), "done"), staff=staff)
    agreed_action_task(p, at(D(2024, 5, 1)), due, (at(D(2024, 5, 16), 0, 30), "done"), staff=staff)
    agreed_action_task(p, at(D(2024, 5, 1)), due, (at(D(2024, 6, 20)), "done"), staff=staff)
    agreed_action_task(p, at(D(2024, 5, 1)), due, staff=staff)
    agreed_action_task(p, at(D(2024, 5, 1)), due, (at(D(2024, 5, 10)), "cancelled"), staff=staff)
    agreed_action_task(p, at(D(2024, 5, 1)), due, (at(D(2024, 6, 3)), "cancelled"), staff=staff)
    agreed_action_task(p, at(D(2024, 5, 1)), due, (at(D(2024, 5, 2)), "done"), (at(D(2024, 5, 3)), "open"), staff=staff)
    # Stories in each month of the second quarter, one citizen's consent withdrawn, one moved.
    consenting, withdrawn, moved = citizen(north), citizen(north), citizen(north)
    consent(patient=consenting, recorded_by=staff)
    consent(patient=withdrawn, recorded_by=staff, withdrawn_on=D(2024, 9, 1), withdrawn_by="Borgeren")
    consent(patient=moved, recorded_by=staff)
    story(consenting, at(D(2024, 3, 31), 23, 30))
    story(consenting, at(D(2024, 4, 1), 0, 30))
    story(withdrawn, at(D(2024, 4, 20)))
    story(consenting, at(D(2024, 5, 10)))
    story(moved, at(D(2024, 5, 31), 23, 30))
    story(moved, at(D(2024, 6, 30), 23, 30))
    story(consenting, at(D(2024, 7, 1), 0, 30))
    story(consenting, at(D(2024, 6, 10)), status="returned")
    move(moved, south, D(2024, 6, 1))
    # Units of exactly four and five citizens.
    for name, size in (("four", 4), ("five", 5)):
        for index in range(size):
            p = citizen(teams[name])
            measure(p, "hba1c", at(D(2024, 6, 1)), 50 + 10 * index)


def calendar_history(rng: random.Random, *, teams: dict) -> None:
    """Appointments of every status, many near midnight at month ends, of citizens some of whom move
    team during the year; courses with cancelled sessions (also the last), drop-outs before the first
    session, on its day and later, participants from other teams, a course with no held session and
    a participant booked twice for one session."""
    citizens = list(Patient.objects.order_by("id"))
    for patient in rng.sample(citizens, 40):
        for _ in range(rng.randint(2, 9)):
            day = rng.choice([random_day(rng, D(2023, 12, 25), D(2025, 1, 5)), D(2024, rng.randint(1, 12), 1)])
            if rng.random() < 0.3:
                day -= datetime.timedelta(days=1)  # the last day of the month before
            status = rng.choices(
                ["attended", "did_not_attend", "cancelled_citizen", "cancelled_centre", "booked"], [55, 15, 10, 8, 12]
            )[0]
            appointment(patient, random_moment(rng, day), status)
    programmes = [programme(code) for code in (*DIABETES_PROGRAMMES, *DEMENTIA_PROGRAMMES)]
    team_list = [teams["north"], teams["south"], teams["dementia"]]
    for index in range(10):
        count = rng.randint(3, 9)
        first = random_day(rng, D(2023, 12, 1), D(2024, 11, 15))
        starts = [random_moment(rng, first + datetime.timedelta(weeks=n)) for n in range(count)]
        cancelled = {n for n in range(1, count + 1) if rng.random() < 0.2}
        if index == 0:
            cancelled = set(range(1, count + 1))  # nothing held: the course ends in no month
        if index == 1:
            cancelled.add(count)  # the last session cancelled: the course ends at the one before
        made = course(rng.choice(team_list), starts, cancelled=tuple(cancelled), code=rng.choice(programmes).code)
        sessions = list(made.sessions.order_by("number"))
        for _ in range(rng.randint(3, 8)):
            attended = {n for n in range(1, count + 1) if rng.random() < 0.75}
            dropped = None
            if rng.random() < 0.3:
                dropped = rng.choice(
                    [
                        sessions[0].starts_at.astimezone(ref.LOCAL).date() - datetime.timedelta(days=1),
                        sessions[0].starts_at.astimezone(ref.LOCAL).date(),
                        rng.choice(sessions).starts_at.astimezone(ref.LOCAL).date(),
                    ]
                )
            patient = rng.choice(citizens) if rng.random() < 0.5 else None
            if patient is not None and made.participants.filter(patient=patient).exists():
                patient = None
            participant(made, rng.choice(team_list), attended=attended, dropped_out_on=dropped, patient=patient)
        twice = made.participants.first()
        appointment(twice.patient, sessions[-1].starts_at, "cancelled_citizen", session=sessions[-1])


@pytest.mark.django_db
def test_every_stored_row_of_a_year_equals_the_independent_recomputation():
    teams = {name: TeamFactory(name=name) for name in ("north", "south", "dementia", "four", "five")}
    staff = clerk()
    staff.teams.set(teams.values())
    coordinator = UserFactory(username="coordinator", role=Role.COORDINATOR, profession="", password=None)
    coordinator.teams.set(teams.values())
    rng = random.Random(20240229)
    random_citizens(rng, teams=[teams["north"], teams["south"], teams["dementia"]], staff=staff, count=60)
    deliberate_edge_cases(teams=teams, staff=staff, coordinator=coordinator)
    calendar_history(rng, teams=teams)

    run_rollups(YEAR_FIRST, YEAR_LAST)

    expected = ref.reference_rows(first_month=YEAR_FIRST, last_month=YEAR_LAST)
    stored = ref.stored_rows(first_month=YEAR_FIRST, last_month=YEAR_LAST)
    # The history reaches every indicator and unit kind, so a comparison of empty sets cannot pass.
    assert {code for code, *_ in expected} == set(ref.CODES)
    assert {kind for _c, _m, kind, _u in expected} == {ref.CENTRE, ref.TEAM, ref.PROGRAMME}
    assert sum(1 for key, (_n, d, _v) in expected.items() if key[2] == ref.TEAM and d in (4, 5)) > 10
    for code in ("OPS-NO-SHOW", "OPS-COURSE-COMPLETION"):
        assert sum(1 for key, (n, d, _v) in expected.items() if key[0] == code and key[2] == ref.TEAM and 0 < n < d) > 3
    assert any(key[0] == "OPS-COURSE-COMPLETION" and key[2] == ref.PROGRAMME for key in expected)
    problems = ref.differences(expected, stored)
    assert not problems, "\n" + problems


def facts_by_the_one_day_definitions(month: D) -> dict[int, dict]:
    """Each counted citizen's facts on the month's last day, asked one day at a time through the
    expressions of patients.definitions that the care-gap rules use (one look-up per citizen)."""
    from django.db.models import Exists, OuterRef, Subquery

    from patients.definitions import (
        DEMENTIA,
        counted_measurements,
        hba1c_goal_range,
        in_window,
        latest_value,
        month_end,
        primary_caregiver_on,
        qualifying_enrolments,
        signed_encounters,
        team_on,
    )
    from patients.models import Condition
    from reporting.facts import CAREGIVER_CONTACT, DATED_FACTS, VALUE_FACT

    last_day = month_end(month)
    facts: dict[int, dict] = {}
    for group in ("diabetes", "dementia"):
        dated = {}
        for column, (what, months) in DATED_FACTS.items():
            if column == VALUE_FACT:
                dated[column] = latest_value(what, last_day, months=months, patient="patient_id")
            elif what == CAREGIVER_CONTACT:
                contacts = signed_encounters().filter(patient=OuterRef("patient_id"), caregiver_present=True)
                dated[column] = Exists(contacts.filter(in_window("started_at", last_day, months)))
            else:
                measured = counted_measurements().filter(patient=OuterRef("patient_id"), type__code=what)
                dated[column] = Exists(measured.filter(in_window("measured_at", last_day, months)))
        low, high = hba1c_goal_range(last_day, patient="patient_id")
        latest_dementia = (
            Condition.objects.filter(patient=OuterRef("patient_id"), kind__in=DEMENTIA, diagnosed_on__lte=last_day)
            .order_by("-diagnosed_on", "-id")
            .values("kind")[:1]
        )
        for row in (
            qualifying_enrolments(group, last_day)
            .annotate(
                team=team_on(last_day, patient="patient_id"),
                goal_low=low,
                goal_high=high,
                latest_dementia=Subquery(latest_dementia),
                caregiver_registered=primary_caregiver_on(last_day, patient="patient_id"),
                **dated,
            )
            .values(
                "patient_id",
                "programme_id",
                "team",
                "goal_low",
                "goal_high",
                "latest_dementia",
                "caregiver_registered",
                *dated,
            )
        ):
            citizen_facts = facts.setdefault(row["patient_id"], {"team_id": row["team"]})
            citizen_facts.setdefault(f"{group}_programmes", set()).add(row["programme_id"])
            citizen_facts["caregiver_spoken_with"] = row["caregiver_spoken_with"]
            citizen_facts["cognition_tested"] = row["cognition_tested"]
            if group == "diabetes":
                citizen_facts |= {
                    c: row[c] for c in DATED_FACTS if c not in ("caregiver_spoken_with", "cognition_tested")
                }
                citizen_facts |= {"goal_low": row["goal_low"], "goal_high": row["goal_high"]}
            else:
                citizen_facts |= {
                    "latest_dementia": row["latest_dementia"],
                    "caregiver_registered": row["caregiver_registered"],
                }
    return facts


def stored_facts(month: D) -> dict[int, dict]:
    from reporting.models import CitizenMonth

    stored = {}
    for row in CitizenMonth.objects.filter(month=month).values():
        facts = {
            "team_id": row["team_id"],
            "caregiver_spoken_with": row["caregiver_spoken_with"],
            "cognition_tested": row["cognition_tested"],
        }
        if row["diabetes_programmes"] is not None:
            facts |= {
                "diabetes_programmes": set(row["diabetes_programmes"]),
                "latest_hba1c": row["latest_hba1c"],
                "bp_measured": row["bp_measured"],
                "albumin_screened": row["albumin_screened"],
                "eye_screened": row["eye_screened"],
                "foot_examined": row["foot_examined"],
                "goal_low": row["goal_low"],
                "goal_high": row["goal_high"],
            }
        if row["dementia_programmes"] is not None:
            facts |= {
                "dementia_programmes": set(row["dementia_programmes"]),
                "latest_dementia": row["latest_dementia"],
                "caregiver_registered": row["caregiver_registered"],
            }
        stored[row["patient_id"]] = facts
    return stored


@pytest.mark.django_db
def test_every_stored_citizen_fact_equals_the_one_day_definitions_the_care_gap_rules_use(team, other_team):
    """The rollup's facts are computed set-based for many months at once (reporting.facts); asked one
    day at a time through patients.definitions they are the same, citizen by citizen, on the edges
    that matter: windows' first days, ties, moves on the last day, goals created on it, caregivers
    replaced on it."""
    staff = clerk()
    staff.teams.set([team, other_team])
    dem = (("dementia-follow-up", D(2020, 1, 1), None), ("caregiver-support", D(2021, 1, 1), None))
    a = citizen(team)
    b = citizen(
        team,
        programmes=(("diabetes-follow-up", D(2020, 1, 1), None), ("diabetes-course", D(2024, 3, 1), D(2024, 6, 30))),
    )
    c = citizen(
        other_team, conditions=(("dem_unspecified", D(2020, 1, 1)), ("dem_alzheimer", D(2024, 6, 30))), programmes=dem
    )
    measure(a, "hba1c", at(D(2023, 7, 1), 0, 30), 60)  # the first day of June 2024's window
    measure(a, "hba1c", at(D(2024, 3, 3)), 80)
    measure(a, "hba1c", at(D(2024, 3, 3)), 50)  # the same moment: the later record
    measure(b, "foot_exam", at(D(2022, 7, 1), 0, 30))
    measure(b, "systolic_bp", at(D(2024, 6, 30), 23, 30))
    goal(a, at(D(2024, 6, 30), 23, 30), 55, 65)
    goal(a, at(D(2023, 1, 1)), 40, 50, status="dropped", dropped_on=D(2024, 6, 30))
    caregiver(c, D(2020, 1, 1), D(2024, 6, 30))
    caregiver(c, D(2024, 6, 30))
    encounter(c, at(D(2023, 12, 31), 23, 30), caregiver_present=True, staff=staff)
    measure(c, "mmse", at(D(2023, 7, 1), 0, 30), 24)
    move(b, other_team, D(2024, 6, 30))
    move(a, other_team, D(2024, 7, 1))

    run_rollups(D(2024, 5, 1), D(2024, 8, 1))

    for month in (D(2024, 5, 1), D(2024, 6, 1), D(2024, 7, 1), D(2024, 8, 1)):
        expected = facts_by_the_one_day_definitions(month)
        assert expected.keys() == {a.id, b.id, c.id}
        assert stored_facts(month) == expected, month
