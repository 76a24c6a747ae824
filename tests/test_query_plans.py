"""The hot paths' SQL plans read large tables through indexes, never by a sequential scan (issue 11).

How: tests/plan_data.py fills the test database set-based with a centre shaped like the largest seed
profile, scaled down (15 teams; thousands of citizens; tens of thousands of encounters, measurements,
tasks and access-log rows), and ANALYZEs it. Each hot path is then requested through the test client
as the persona who uses it, its SQL is captured as it was sent (Django binds parameters on the
client, so the captured text is the statement the server planned), and each statement is EXPLAINed
under the planner settings of production (healthcenter/runtime.py: POSTGRES_SETTINGS).

What the assertion means: no plan node is a `Seq Scan` on a table that holds more than
LARGE_TABLE_ROWS rows here. Small reference tables (catalogue, programmes, rules, indicators, teams)
may be scanned: they stay small at any size of centre. The plan a query gets here is the plan it
would get at the largest profile as long as the proportions hold, because the planner compares a
scan of the whole table with the part of it an index reaches: a citizen is one of thousands, a team
one of fifteen, in both. Because it reads the SQL a page really sends, the test follows the code as
queries are rewritten; a new query without an index fails it.

A failure names the table and the statement, with a hint from planning it again under
`enable_seqscan = off`, which only makes scans dear: if the planner then still finds no index it can
search with a condition on that table, the query needs an index (or another shape, e.g. an OR across
a join that no index can answer); if it names one, an index exists that the planner found dearer
than the scan, and the query's selectivity or shape is the question. The hint is not asserted."""

import datetime
import re
from dataclasses import dataclass

import pytest
from django.core.cache import caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from coordination.caregaps import evaluate_care_gaps
from healthcenter import runtime
from healthcenter.models import Role, Team, User
from healthcenter.retention import access_log_archive
from patients.models import Patient
from scheduling.models import Appointment, Course, CourseSession, Room
from scheduling.views.week import iso_week

from .conftest import client_for
from .factories import UserFactory
from .plan_data import TEAM_PREFIX, build_centre

# A table with more rows than this in the generated centre is one that grows with the centre.
LARGE_TABLE_ROWS = 1_000
# What the planner is told about the machine; the rest of the settings do not change plans.
PLANNER_SETTINGS = ("random_page_cost", "effective_cache_size", "work_mem", "jit")
EXPLAINED = ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")


@dataclass
class Centre:
    professional: User
    coordinator: User
    manager: User
    citizen: Patient
    large_tables: set[str]
    # The calendar (issue 13): the professional's team, a room they book, the course they teach and a
    # held session of it, and the day and ISO week of their next appointment.
    team: Team
    room: Room
    course: Course
    session: CourseSession
    busy_day: datetime.date


@pytest.fixture(scope="module")
def centre(django_db_setup, django_db_blocker):
    """The generated centre, built once for the module in a transaction that is rolled back at the
    end; each test runs in a savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        build_centre()
        with connection.cursor() as cursor:
            for name in PLANNER_SETTINGS:
                cursor.execute("SELECT set_config(%s, %s, true)", [name, runtime.POSTGRES_SETTINGS[name]])
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace "
                "AND reltuples > %s",
                [LARGE_TABLE_ROWS],
            )
            large_tables = {name for (name,) in cursor.fetchall()}
        professional = User.objects.filter(
            role=Role.PROFESSIONAL, teams__name=f"{TEAM_PREFIX} 01", responsible_for__isnull=False
        ).order_by("id")[0]
        course = Course.objects.get(team__name=f"{TEAM_PREFIX} 01", professionals=professional)
        next_appointment = Appointment.objects.filter(
            professionals=professional, session__isnull=True, status="booked", starts_at__gte=timezone.now()
        ).earliest("starts_at")
        yield Centre(
            professional=professional,
            coordinator=User.objects.get(role=Role.COORDINATOR, teams__name=f"{TEAM_PREFIX} 01"),
            manager=UserFactory(role=Role.MANAGER, profession=""),
            citizen=Patient.objects.filter(responsible_professional=professional, status="active").order_by("id")[0],
            large_tables=large_tables,
            team=course.team,
            room=Room.objects.filter(appointments__booked_by=professional).distinct().get(),
            course=course,
            session=course.sessions.filter(registered_at__isnull=False).latest("number"),
            busy_day=timezone.localdate(next_appointment.starts_at),
        )
        transaction.set_rollback(True)


# pghistory sends the acting user ahead of every write as a statement of its own (pghistory.runtime).
HISTORY_CONTEXT = re.compile(
    r"^SELECT set_config\('pghistory\.context_id', '[^']*', true\), "
    r"set_config\('pghistory\.context_metadata', '(?:[^']|'')*', true\); "
)


@pytest.fixture(autouse=True)
def _nothing_cached():
    # A page drawn from the fragment cache sends none of the record's queries, and they are what is looked at.
    for cache in caches.all():
        cache.clear()


def captured_statements(action) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        action()
    statements = [HISTORY_CONTEXT.sub("", query["sql"]).strip() for query in captured.captured_queries]
    return [statement for statement in statements if statement.upper().startswith(EXPLAINED)]


def plan_of(statement: str, *, without_seqscan: bool = False) -> dict:
    # In a savepoint that is always rolled back: EXPLAIN without ANALYZE runs nothing, but should a
    # statement ever hide a second one, that one is undone.
    savepoint = transaction.savepoint()
    try:
        with connection.cursor() as cursor:
            if without_seqscan:
                cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}")
            plan = cursor.fetchone()[0]
    finally:
        transaction.savepoint_rollback(savepoint)
    return plan[0]["Plan"]


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def scanned_tables(plan: dict) -> set[str]:
    return {node["Relation Name"] for node in nodes(plan) if node["Node Type"] == "Seq Scan"}


def narrowing_indexes(plan: dict, table: str) -> list[str]:
    """The indexes of `table` that the plan searches with a condition (not read whole, in index order)."""
    searched = [node["Index Name"] for node in nodes(plan) if "Index Name" in node and "Index Cond" in node]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = %s::regclass "
            "AND indexrelid::regclass::text = ANY(%s) ORDER BY 1",
            [table, searched],
        )
        return [name for (name,) in cursor.fetchall()]


def sequential_scans(statements: list[str], large_tables: set[str]) -> list[str]:
    """One entry per large table a statement scans, with the verdict of the `enable_seqscan = off` plan."""
    found = []
    for statement in statements:
        for table in sorted(scanned_tables(plan_of(statement)) & large_tables):
            indexes = narrowing_indexes(plan_of(statement, without_seqscan=True), table)
            if indexes:
                verdict = f"{', '.join(indexes)} could serve it; the planner found the scan cheaper"
            else:
                verdict = "no index narrows it down: it needs one, or another shape"
            found.append(f"Seq Scan on {table} ({verdict}):\n    {statement[:1500]}")
    return found


def assert_indexed(statements: list[str], centre: Centre) -> None:
    assert statements, "the path sent no statement to look at"
    scans = sequential_scans(statements, centre.large_tables)
    assert not scans, "\n\n".join(scans)


# --- the detector can fail ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_finds_a_sequential_scan_on_a_large_table_and_says_that_no_index_serves_it(centre):
    assert {"patients_patient", "patients_measurement", "healthcenter_accesslog"} <= centre.large_tables
    by_phone = "SELECT id FROM patients_patient WHERE phone = '12345678'"
    by_number = "SELECT id FROM patients_patient WHERE cpr = '0101801234'"

    scans = sequential_scans([by_phone, by_number], centre.large_tables)

    assert len(scans) == 1
    assert scans[0].startswith("Seq Scan on patients_patient (no index narrows it down")


@pytest.mark.django_db
def test_it_fails_the_patient_page_when_the_index_of_its_viewers_list_is_gone(centre):
    client = client_for(centre.professional)
    url = reverse("patients:detail", args=[centre.citizen.public_id])
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX accesslog_patient_at")  # rolled back with the test's savepoint

    scans = sequential_scans(captured_statements(lambda: client.get(url)), centre.large_tables)

    assert any(scan.startswith("Seq Scan on healthcenter_accesslog") for scan in scans), scans


# --- the hot paths -------------------------------------------------------------------------------------------


def get(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)


def search(client, term: str):
    url = reverse("patients:list")
    client.post(url, {"term": term})
    get(client, url)


@pytest.mark.django_db
def test_the_patient_page(centre):
    client = client_for(centre.professional)
    public_id = centre.citizen.public_id

    def page():
        get(client, reverse("patients:detail", args=[public_id]))
        get(client, reverse("coordination:patient_panel", args=[public_id]))

    statements = captured_statements(page)
    assert any('FROM "patients_encounter"' in statement for statement in statements)  # the record was read
    assert_indexed(statements, centre)


# The pages that are one GET as their persona: (persona, url name, whether the url names the citizen, query).
PAGES = {
    "the briefing": ("professional", "coordination:briefing", True, {}),
    "the patient list": ("professional", "patients:list", False, {}),
    "my worklist": ("professional", "coordination:worklist", False, {"scope": "mine"}),
    "the team's worklist": ("professional", "coordination:worklist", False, {"scope": "team"}),
    "my tasks": ("professional", "coordination:my_tasks", False, {}),
    "the team board": ("coordinator", "coordination:board", False, {}),
    "the workload": ("coordinator", "coordination:workload", False, {}),
    "the navigation badge": ("professional", "coordination:news_badge", False, {}),
    "the dashboard": ("manager", "reporting:overview", False, {}),
}


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_the_page(centre, page):
    persona, name, of_citizen, params = PAGES[page]
    client = client_for(getattr(centre, persona))
    url = reverse(name, args=[centre.citizen.public_id] if of_citizen else [])
    assert_indexed(captured_statements(lambda: get(client, url, **params)), centre)


@pytest.mark.django_db
@pytest.mark.parametrize("scope", ["mine", "team"])
def test_the_worklist_reads_the_next_appointments_and_the_booked_gaps_through_indexes(centre, scope):
    """Issue 13: the page's citizens' next appointments (on appointment_patient_time) and their open
    gaps with the appointment booked for each; the calendar is among the large tables."""
    assert "scheduling_appointment" in centre.large_tables
    client = client_for(centre.professional)
    statements = captured_statements(lambda: get(client, reverse("coordination:worklist"), scope=scope))
    (next_appointments,) = [s for s in statements if s.startswith('SELECT DISTINCT ON ("scheduling_appointment"')]
    assert "appointment_patient_time" in {node.get("Index Name") for node in nodes(plan_of(next_appointments))}
    assert any('LEFT OUTER JOIN "scheduling_appointment"' in s and "coordination_caregap" in s for s in statements)
    assert_indexed(statements, centre)


@pytest.mark.django_db
def test_the_briefing_reads_the_citizens_next_appointments_through_an_index(centre):
    client = client_for(centre.professional)
    url = reverse("coordination:briefing", args=[centre.citizen.public_id])
    statements = captured_statements(lambda: get(client, url))
    assert any('FROM "scheduling_appointment"' in s for s in statements)
    assert_indexed(statements, centre)


@pytest.mark.django_db
def test_the_name_search(centre):
    client = client_for(centre.professional)
    assert_indexed(captured_statements(lambda: search(client, "jørgensen")), centre)


@pytest.mark.django_db
def test_the_cpr_search_by_birth_date_and_by_whole_number(centre):
    client = client_for(centre.professional)
    cpr = centre.citizen.cpr

    def searches():
        search(client, cpr[:6])
        search(client, f"{cpr[:6]}-{cpr[6:]}")

    assert_indexed(captured_statements(searches), centre)


@pytest.mark.django_db
def test_the_encounter_save(centre):
    client = client_for(centre.professional)
    url = reverse("coordination:encounter_create", args=[centre.citizen.public_id])
    started = timezone.localtime() - timezone.timedelta(hours=1)
    form = {
        "kind": "individual",
        "started_at": started.strftime("%Y-%m-%dT%H:%M"),
        "duration_minutes": "30",
        "what_matters": "At gå tur med hunden",
        "note": "Samtale",
        "agreed_actions": "Gåtur hver dag",
        "action-0-text": "Gåtur hver dag",
        "m_hba1c": "58",
        "m_weight": "84.5",
        "sign": "1",
    }

    def save():
        response = client.post(url, form)
        assert response.status_code == 302, response.content.decode()[:2000]

    assert_indexed(captured_statements(save), centre)


@pytest.mark.django_db
def test_the_access_log_retention_run_that_finds_nothing_to_archive(centre, settings, tmp_path):
    """Most nights nothing is old enough. Without the BRIN index the planner reads a whole index of the
    largest table to find that out (a full scan of accesslog_user_at, which no Seq Scan check sees)."""
    settings.ACCESS_LOG_ARCHIVE_DIR = str(tmp_path)

    def nightly_run():
        assert access_log_archive(using="default").entries == 0

    statements = captured_statements(nightly_run)
    assert_indexed(statements, centre)
    (oldest,) = [statement for statement in statements if '"healthcenter_accesslog"."at" <' in statement]
    assert {node.get("Index Name") for node in nodes(plan_of(oldest))} >= {"accesslog_at_brin"}


@pytest.mark.django_db
def test_the_care_gap_job_when_nothing_changed(centre):
    """The nightly run after a quiet day: its query for the citizens awaiting a review finds none."""
    assert_indexed(captured_statements(evaluate_care_gaps), centre)


@pytest.mark.django_db
def test_the_care_gap_evaluation_of_one_citizen_after_a_signature(centre):
    citizen = centre.citizen.pk
    assert_indexed(captured_statements(lambda: evaluate_care_gaps(patient_ids=[citizen])), centre)


# --- the calendar (issue 13) ---------------------------------------------------------------------------------


def monday(day: datetime.date) -> datetime.date:
    return day - datetime.timedelta(days=day.weekday())


# The calendar's pages, one GET each as the professional: (url name, its arguments, its query, the table
# whose rows it is about: the test checks that it read them). The day and the weeks are those of the
# professional's next appointment, the course is one they teach, the register one of its held sessions.
CALENDAR = {
    "my day": ("scheduling:my_day", lambda c: [], lambda c: {"day": c.busy_day.isoformat()}, "scheduling_appointment"),
    "my week": (
        "scheduling:my_week",
        lambda c: [],
        lambda c: {"week": iso_week(monday(c.busy_day))},
        "scheduling_reservation",
    ),
    "the team's week": (
        "scheduling:team_week",
        lambda c: [c.team.public_id],
        lambda c: {"week": iso_week(monday(c.busy_day))},
        "scheduling_reservation",
    ),
    "the room's week": (
        "scheduling:room_week",
        lambda c: [c.room.public_id],
        lambda c: {"week": iso_week(monday(c.busy_day))},
        "scheduling_reservation",
    ),
    "the citizen's appointments": (
        "scheduling:patient_appointments",
        lambda c: [c.citizen.public_id],
        lambda c: {},
        "scheduling_appointment",
    ),
    "the course page": (
        "scheduling:course",
        lambda c: [c.course.public_id],
        lambda c: {},
        "scheduling_courseparticipant",
    ),
    "the register": (
        "scheduling:session_register",
        lambda c: [c.session.public_id],
        lambda c: {},
        "scheduling_appointment",
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("page", CALENDAR)
def test_the_calendar_page(centre, page):
    name, args, params, table = CALENDAR[page]
    client = client_for(centre.professional)
    statements = captured_statements(lambda: get(client, reverse(name, args=args(centre)), **params(centre)))
    assert any(f'FROM "{table}"' in s or f'JOIN "{table}"' in s for s in statements), page
    assert_indexed(statements, centre)


@pytest.mark.django_db
def test_it_fails_my_week_when_the_indexes_of_a_professionals_reservations_are_gone(centre):
    """The week is read through the reservations of the professional: the exclusion constraint's GiST
    index (professional, during) or the foreign key's. Without both, a week reads every reservation."""
    client = client_for(centre.professional)
    with connection.cursor() as cursor:  # rolled back with the test's savepoint
        cursor.execute("ALTER TABLE scheduling_reservation DROP CONSTRAINT professional_not_booked_twice")
        cursor.execute(
            "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = 'scheduling_reservation'::regclass "
            "AND indkey[0] = (SELECT attnum FROM pg_attribute WHERE attrelid = 'scheduling_reservation'::regclass "
            "AND attname = 'professional_id')"
        )
        for (index,) in cursor.fetchall():
            cursor.execute(f"DROP INDEX {index}")
    name, args, params, _table = CALENDAR["my week"]

    statements = captured_statements(lambda: get(client, reverse(name, args=args(centre)), **params(centre)))

    scans = sequential_scans(statements, centre.large_tables)
    assert any(scan.startswith("Seq Scan on scheduling_reservation") for scan in scans), scans


@pytest.mark.django_db
def test_the_week_pages_read_a_week_that_has_appointments_and_a_course_session(centre):
    """The plans above are those of a full week: the professional's week holds appointments and the
    session they teach, the room's week appointments (else a page could pass by reading nothing)."""
    client = client_for(centre.professional)
    week = iso_week(monday(centre.busy_day))
    mine = client.get(reverse("scheduling:my_week"), {"week": week}).content.decode()
    assert mine.count('data-testid="block"') >= 3 and "block-course" in mine
    room = client.get(reverse("scheduling:room_week", args=[centre.room.public_id]), {"week": week}).content.decode()
    assert 'data-testid="block"' in room


@pytest.mark.django_db
def test_the_free_slots_citizen_search(centre):
    """A week view's free slot asks for the citizen by name or CPR number (the citizens list's search)."""
    client = client_for(centre.professional)
    day = monday(centre.busy_day) + datetime.timedelta(days=7)
    url = reverse("scheduling:my_week") + f"?week={iso_week(day)}&professional={centre.professional.pk}"
    url += f"&slot={day:%Y-%m-%d}T16:00"

    def searches():
        for term in ["jørgensen", centre.citizen.cpr[:6]]:
            response = client.post(url, {"term": term}, HTTP_HX_REQUEST="true")
            assert response.status_code == 200 and 'data-testid="slot-match"' in response.content.decode(), term

    assert_indexed(captured_statements(searches), centre)
