"""OPS-NO-SHOW and OPS-COURSE-COMPLETION (issue 13) against hand counts: the rollups store them, the
independent recomputation (tests/reference_indicators.py) agrees cell for cell, the display function
hides small counts as it does for the others, the dashboard and the exports carry them, and a change
to an appointment makes its month stale so that an incremental run equals a full recomputation.

Every moment is a fixed local time in Europe/Copenhagen; the incremental case uses months counted back
from today (the months kept), never today's weekday or time."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from patients.models import Programme
from reporting import display
from reporting.models import Indicator, IndicatorValue, RollupRun, RunStatus, StaleDay
from reporting.rollups import OPERATIONAL, run_incremental, run_rollups
from scheduling.definitions import completed, withdrew_before_start
from scheduling.models import Appointment, Course, CourseParticipant, CourseSession

from . import reference_indicators as ref
from .conftest import client_for
from .factories import PatientFactory
from .test_exports import csv_rows
from .test_indicator_exactness import appointment, at, course, move, participant, weekly

D = datetime.date
MARCH, APRIL, MAY, JUNE = D(2024, 3, 1), D(2024, 4, 1), D(2024, 5, 1), D(2024, 6, 1)
NO_SHOW, COMPLETION = "OPS-NO-SHOW", "OPS-COURSE-COMPLETION"


def stored(code: str, month: D) -> dict[tuple[str, int], ref.Figures]:
    return {
        (kind, unit): figures
        for (c, m, kind, unit), figures in ref.stored_rows(first_month=month, last_month=month).items()
        if c == code
    }


def computed(code: str, month: D) -> dict[tuple[str, int], ref.Figures]:
    """Both answers, which must agree: the rollup's stored rows and the independent recomputation."""
    run_rollups(month, month)
    product = stored(code, month)
    reference = {
        (kind, unit): figures
        for (c, _m, kind, unit), figures in ref.reference_rows(first_month=month, last_month=month).items()
        if c == code
    }
    assert product == reference
    return product


# --- the definitions -----------------------------------------------------------------------------------------------


def test_completion_is_at_least_three_quarters_of_the_held_sessions_exactly():
    assert completed(attended=6, held=8)
    assert not completed(attended=5, held=7)  # 71 %
    assert completed(attended=6, held=7)
    assert not completed(attended=0, held=0)


def test_only_a_drop_out_before_the_first_held_session_day_withdrew():
    first = D(2024, 4, 2)
    assert withdrew_before_start(status="dropped_out", dropped_out_on=D(2024, 4, 1), first_held_day=first)
    assert not withdrew_before_start(status="dropped_out", dropped_out_on=first, first_held_day=first)
    assert not withdrew_before_start(status="enrolled", dropped_out_on=None, first_held_day=first)


# --- OPS-NO-SHOW ---------------------------------------------------------------------------------------------------


@pytest.fixture
def march_calendar(team, other_team):
    """Citizen a (team): 5 attended and 1 not attended in March, one of each on the month's edges; 3
    cancelled or still booked; one attended just after March and one missed just before it. Citizen b
    moves from team to other_team on 15 March: missed on the 10th, attended twice after the move."""
    a, b = PatientFactory(team=team), PatientFactory(team=team)
    appointment(a, at(D(2024, 3, 1), 0, 15))  # 29 Feb in UTC: March
    for day in (5, 6, 7, 8):
        appointment(a, at(D(2024, 3, day)))
    appointment(a, at(D(2024, 3, 31), 23, 30), "did_not_attend")  # local 31 March (summer time since 02:00)
    appointment(a, at(D(2024, 3, 12)), "cancelled_citizen")
    appointment(a, at(D(2024, 3, 13)), "cancelled_centre")
    appointment(a, at(D(2024, 3, 14)), "booked")  # never marked: neither held nor missed
    appointment(a, at(D(2024, 4, 1), 0, 15))  # 31 March in UTC: April
    appointment(a, at(D(2024, 2, 29), 23, 30), "did_not_attend")  # 29 Feb: February
    appointment(b, at(D(2024, 3, 10)), "did_not_attend")
    appointment(b, at(D(2024, 3, 20)))
    appointment(b, at(D(2024, 3, 22)))
    appointment(b, at(D(2024, 3, 21)), "cancelled_centre")
    move(b, other_team, D(2024, 3, 15))
    return a, b


@pytest.mark.django_db
def test_no_show_counts_held_or_missed_appointments_by_the_local_day_and_the_team_on_it(
    march_calendar, team, other_team
):
    march = computed(NO_SHOW, MARCH)
    assert march == {
        (ref.CENTRE, 0): (2, 9, Decimal("22.22")),
        (ref.TEAM, team.id): (2, 7, Decimal("28.57")),
        (ref.TEAM, other_team.id): (0, 2, Decimal("0.00")),
    }
    assert computed(NO_SHOW, APRIL) == {
        (ref.CENTRE, 0): (0, 1, Decimal("0.00")),
        (ref.TEAM, team.id): (0, 1, Decimal("0.00")),
    }
    assert computed(NO_SHOW, D(2024, 2, 1))[ref.CENTRE, 0] == (1, 1, Decimal("100.00"))
    # No programme breakdown (an appointment belongs to no programme), as OPS-TASKS-OVERDUE has none.
    assert computed(NO_SHOW, JUNE) == {(ref.CENTRE, 0): (0, 0, None)}


@pytest.mark.django_db
def test_no_show_leaves_the_system_only_through_the_display_function(march_calendar, team, other_team):
    run_rollups(MARCH, MARCH)
    indicator = Indicator.objects.get(code=NO_SHOW)
    rows = IndicatorValue.objects.filter(indicator=indicator, month=MARCH)
    shown = display.figures(rows, {indicator.id: indicator})
    centre = display.cell(shown, indicator, MARCH, "centre", 0)
    # 2 of 9: the numerator is 1-4, so a bound rounded outwards (4/9 = 44.4 %), the denominator shown.
    assert (centre.text, centre.numerator, centre.denominator) == ("≤ 45 %", None, 9)
    assert centre.met is None  # "at most 45 %" cannot be judged against "below 10 %"
    assert display.cell(shown, indicator, MARCH, "team", other_team.id).text == "<5"


# --- OPS-COURSE-COMPLETION -----------------------------------------------------------------------------------------


@pytest.fixture
def courses(team, other_team):
    """Course A (team, diabetes school): 8 held sessions from 2 April, the last on 21 May, and a 9th on
    4 June, cancelled: it ends in May. Course B (other_team, diabetes follow-up): 8 sessions from 9 April
    with the 3rd cancelled, 7 held, the last on 28 May. Course C (team): 3 sessions in April and a 4th on
    7 May, cancelled: it ends in April."""
    a = course(team, [*weekly(D(2024, 4, 2), 8), at(D(2024, 6, 4))], cancelled=(9,))
    b = course(other_team, weekly(D(2024, 4, 9), 8), cancelled=(3,), code="diabetes-follow-up")
    c = course(team, weekly(D(2024, 4, 16), 4), cancelled=(4,))
    everything = set(range(1, 10))
    people = {
        "six of eight": participant(a, team, attended={1, 2, 3, 4, 5, 6}),
        "all eight": participant(a, other_team, attended=everything),
        "withdrew before the start": participant(a, team, attended=set(), dropped_out_on=D(2024, 4, 1)),
        "dropped out after two": participant(a, team, attended={1, 2}, dropped_out_on=D(2024, 4, 10)),
        "five of seven": participant(b, other_team, attended={1, 2, 4, 5, 6}),
        "six of seven": participant(b, other_team, attended={1, 2, 4, 5, 6, 7}),
        "all of c": participant(c, team, attended={1, 2, 3}),
    }
    return {"a": a, "b": b, "c": c, **people}


@pytest.mark.django_db
def test_course_completion_counts_the_courses_ending_in_the_month_by_their_team_and_programme(
    courses, team, other_team
):
    school, follow_up = Programme.objects.get(code="diabetes-course"), Programme.objects.get(code="diabetes-follow-up")
    may = computed(COMPLETION, MAY)
    # A: six of eight and all eight complete, the drop-out after two is counted and does not, the one who
    # withdrew before the start is left out. B: five of seven (71 %) does not complete, six of seven does.
    assert may == {
        (ref.CENTRE, 0): (3, 5, Decimal("60.00")),
        (ref.TEAM, team.id): (2, 3, Decimal("66.67")),
        (ref.TEAM, other_team.id): (1, 2, Decimal("50.00")),
        (ref.PROGRAMME, school.id): (2, 3, Decimal("66.67")),
        (ref.PROGRAMME, follow_up.id): (1, 2, Decimal("50.00")),
    }
    # The unit is the course's team, not the participant's: "all eight" is of other_team, counted for team.
    assert courses["all eight"].patient.team_id == other_team.id
    # C's cancelled session in May does not move its end: C ends in April.
    assert computed(COMPLETION, APRIL) == {
        (ref.CENTRE, 0): (1, 1, Decimal("100.00")),
        (ref.TEAM, team.id): (1, 1, Decimal("100.00")),
        (ref.PROGRAMME, school.id): (1, 1, Decimal("100.00")),
    }
    # A's cancelled 9th session in June does not move A's end either.
    assert computed(COMPLETION, JUNE) == {(ref.CENTRE, 0): (0, 0, None)}


@pytest.mark.django_db
def test_course_completion_is_shown_through_the_display_function(courses):
    run_rollups(MAY, MAY)
    indicator = Indicator.objects.get(code=COMPLETION)
    shown = display.figures(IndicatorValue.objects.filter(indicator=indicator, month=MAY), {indicator.id: indicator})
    # 3 of 5: numerator and complement both 1-4, so no rate at all.
    assert display.cell(shown, indicator, MAY, "centre", 0).visibility == display.WITHHELD
    assert display.cell(shown, indicator, MAY, "team", courses["a"].team_id).text == "<5"


# --- the dashboard and the exports ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_dashboard_and_the_export_carry_both_new_indicators(manager, march_calendar, courses):
    run_rollups(MARCH, MAY)
    RollupRun.objects.create(first_month=MARCH, last_month=MAY, status=RunStatus.SUCCEEDED, finished_at=timezone.now())
    response = client_for(manager).get(reverse("reporting:overview"), {"first": "2024-03", "last": "2024-05"})
    assert response.status_code == 200
    codes = [row["code"] for row in response.context["board"].table]
    assert NO_SHOW in codes and COMPLETION in codes
    rows = csv_rows(
        client_for(manager).get(reverse("reporting:export", args=["csv"]), {"first": "2024-03", "last": "2024-05"})
    )
    by_key = {(row[0], row[3]): row for row in rows[1:]}
    assert by_key[NO_SHOW, "2024-03"][5] == "9"  # the denominator shown, the numerator (2) not
    assert by_key[NO_SHOW, "2024-03"][4] == ""
    assert (COMPLETION, "2024-05") in by_key


# --- stale marks and the incremental run ---------------------------------------------------------------------------


def months_ago(count: int) -> D:
    month = timezone.localdate().replace(day=1)
    index = month.year * 12 + month.month - 1 - count
    return D(index // 12, index % 12 + 1, 1)


@pytest.mark.django_db
def test_a_changed_appointment_makes_its_month_stale_and_the_incremental_run_equals_a_full_one(team, other_team):
    month = months_ago(3)
    a, b = PatientFactory(team=team), PatientFactory(team=other_team)
    missed = appointment(a, at(month + datetime.timedelta(days=3)))
    for day in range(4, 10):
        appointment(b, at(month + datetime.timedelta(days=day)))
    school = course(team, weekly(month + datetime.timedelta(days=1), 4))
    keen = participant(school, team, attended={1, 2, 3})
    run_incremental()  # the first run computes every month kept
    # a's 1 and b's 6 attended, and the course's 3 attended and 1 missed (a group session counts too).
    assert stored(NO_SHOW, month)[ref.CENTRE, 0] == (1, 11, Decimal("9.09"))
    assert stored(COMPLETION, month)[ref.CENTRE, 0] == (1, 1, Decimal("100.00"))  # 3 of 4
    StaleDay.objects.all().delete()

    Appointment.objects.filter(pk=missed.pk).update(status="did_not_attend")
    marks = set(StaleDay.objects.values_list("source", "from_day"))
    assert marks == {("scheduling_appointment", missed.starts_at.astimezone(ref.LOCAL).date())}
    third = school.sessions.get(number=3)
    Appointment.objects.filter(session=third, patient=keen.patient).update(status="did_not_attend")
    run_incremental()
    incremental = ref.stored_rows()
    assert stored(NO_SHOW, month)[ref.CENTRE, 0] == (3, 11, Decimal("27.27"))
    assert stored(COMPLETION, month)[ref.CENTRE, 0] == (0, 1, Decimal("0.00"))  # 2 of 4

    run_rollups(min(m for _c, m, _k, _u in incremental), timezone.localdate().replace(day=1))
    assert ref.differences(ref.stored_rows(), incremental, expected_name="full", actual_name="incremental") == ""
    months = sorted({m for _c, m, _k, _u in incremental})
    assert ref.differences(ref.reference_rows(first_month=months[0], last_month=months[-1]), incremental) == ""


@pytest.mark.django_db
def test_course_sessions_participants_and_team_changes_mark_the_right_figures_stale(team, other_team):
    month = months_ago(2)
    school = course(team, weekly(month + datetime.timedelta(days=1), 3))
    place = participant(school, team, attended={1, 2, 3})
    first_day = month + datetime.timedelta(days=1)
    StaleDay.objects.all().delete()
    CourseSession.objects.filter(course=school, number=3).update(cancelled=True, cancel_reason="Sygdom")
    CourseParticipant.objects.filter(pk=place.pk).update(status="completed")
    Course.objects.filter(pk=school.pk).update(team=other_team)
    assert set(StaleDay.objects.values_list("source", "from_day")) == {
        ("scheduling_coursesession", first_day),
        ("scheduling_courseparticipant", first_day),
        ("scheduling_course", first_day),
    }
    sources = {source for part in (OPERATIONAL["no-show"], OPERATIONAL["courses"]) for source in part.sources}
    assert {"scheduling_appointment", "patients_teamresponsibility", "scheduling_course"} <= sources


@pytest.mark.django_db
def test_a_team_change_dated_back_moves_the_no_shows_of_the_months_after_it(team, other_team):
    month = months_ago(4)
    mover = PatientFactory(team=team)
    for day in range(2, 8):
        appointment(mover, at(month + datetime.timedelta(days=day)), "did_not_attend" if day == 2 else "attended")
    run_incremental()
    assert (ref.TEAM, team.id) in stored(NO_SHOW, month)

    move(mover, other_team, month)  # from the first day of the month, recorded now
    run_incremental()
    incremental = ref.stored_rows()
    assert stored(NO_SHOW, month) == {
        (ref.CENTRE, 0): (1, 6, Decimal("16.67")),
        (ref.TEAM, other_team.id): (1, 6, Decimal("16.67")),
    }
    months = sorted({m for _c, m, _k, _u in incremental})
    assert ref.differences(ref.reference_rows(first_month=months[0], last_month=months[-1]), incremental) == ""
