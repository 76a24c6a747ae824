"""The week views (issue 13): a professional's, a team's and a room's week, the names they may show,
booking from a free slot, and query budgets that do not grow with the calendar."""

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from healthcenter.models import AccessAction, AccessLog, AccessOutcome
from scheduling.models import Course, CourseSession, Reservation
from scheduling.views.week import iso_week

from .conftest import client_for
from .factories import AppointmentFactory, PatientFactory, RoomFactory, UserFactory

pytestmark = pytest.mark.django_db


def english(client):
    """The pages in English: the new texts' Danish is merged into locale/ by the lead, and a test must
    not depend on whether it has been (the date formats below are the language's own, and tested in Danish)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def as_member(member):
    return english(client_for(member))


@pytest.fixture
def as_outsider(outsider):
    return english(client_for(outsider))


HTMX = {"HTTP_HX_REQUEST": "true"}
# The week views' query budget, whatever the number of appointments (tests below: 1 and 30).
WEEK_BUDGET = 12
# A free slot's citizen search (tests below: 5 and 60 citizens matching).
SLOT_SEARCH_BUDGET = 6


def chosen_monday() -> datetime.date:
    """A Monday 8 to 14 days ahead: bookable, and the same weekday whatever day the tests run."""
    today = timezone.localdate()
    return today + datetime.timedelta(days=14 - today.weekday())


MONDAY = chosen_monday()
WEEK = iso_week(MONDAY)


def at(day_offset: int, hour: int, minute: int = 0) -> datetime.datetime:
    day = MONDAY + datetime.timedelta(days=day_offset)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def appointment(patient, people, *, day=0, hour=10, minute=0, minutes=45, room=None, **extra):
    start = at(day, hour, minute)
    return AppointmentFactory(
        patient=patient,
        professionals=people,
        booked_by=people[0],
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=minutes),
        room=room,
        **extra,
    )


def my_week(query: str = "") -> str:
    return reverse("scheduling:my_week") + f"?week={WEEK}" + query


# --- a professional's week -------------------------------------------------------------------------


def test_my_week_shows_my_appointment_in_its_place_with_the_citizen(as_member, member, patient):
    booked = appointment(patient, [member], day=1, hour=10, minutes=45)
    response = as_member.get(my_week())
    assert response.status_code == 200
    html = response.content.decode()
    assert "Karen Jensen" in html
    assert reverse("scheduling:appointment", args=[booked.public_id]) in html
    # Tuesday is the grid's third column; 10:00 is the 13th quarter-hour after 07:00 (row 14); 45 min = 3 rows.
    assert re.search(r'class="block c-3 r-14 s-3 block-mine"', html), html
    assert f"Week {MONDAY.isocalendar()[1]}" in html


def test_the_grid_reaches_from_the_earliest_to_the_latest_block_of_the_week(as_member, member, patient):
    appointment(patient, [member], day=1, hour=6, minutes=30)
    appointment(patient, [member], day=3, hour=19, minute=30, minutes=45)
    appointment(patient, [member], day=3, hour=10, minutes=30)
    html = as_member.get(my_week()).content.decode()
    # From 06:00 to 21:00 (19:30 + 45 minutes ends in the 20s): 60 quarter-hours, each block in its own rows.
    hours = re.findall(r'<div class="hour c-1 (r-\d+) s-4">(\d\d:00)</div>', html)
    assert hours[0] == ("r-2", "06:00") and hours[-1] == ("r-58", "20:00") and len(hours) == 15
    assert 'class="block c-3 r-2 s-2 block-mine"' in html  # Tuesday 06:00-06:30
    assert 'class="block c-5 r-18 s-2 block-mine"' in html  # Thursday 10:00, four hours of rows below 06:00
    assert 'class="block c-5 r-56 s-3 block-mine"' in html  # Thursday 19:30-20:15
    assert html.count("s-60") == 5  # each day's background covers the whole grid
    # Free slots are still offered within 07-18 only.
    assert f"slot={MONDAY:%Y-%m-%d}T06%3A30" not in html and f"slot={MONDAY:%Y-%m-%d}T07%3A00" in html


def test_a_week_within_07_18_keeps_the_usual_hours(as_member, member, patient):
    appointment(patient, [member], day=1, hour=10)
    html = as_member.get(my_week()).content.decode()
    hours = re.findall(r'<div class="hour c-1 (r-\d+) s-4">(\d\d:00)</div>', html)
    assert hours[0] == ("r-2", "07:00") and hours[-1] == ("r-42", "17:00")
    assert "s-44" in html


def test_a_free_half_hour_is_a_link_that_opens_the_booking_for_its_time(as_member, member, patient):
    appointment(patient, [member], day=0, hour=10)
    html = as_member.get(my_week()).content.decode()
    slot_ten = f"slot={MONDAY:%Y-%m-%d}T10%3A00"
    slot_eleven = f"slot={MONDAY:%Y-%m-%d}T11%3A00"
    assert slot_ten not in html  # taken
    assert slot_eleven in html
    assert 'hx-target="#slot-panel"' in html


def test_the_weekend_is_folded_unless_something_is_on_it(as_member, member, patient):
    html = as_member.get(my_week()).content.decode()
    assert "days-5" in html and "Saturday" not in html
    appointment(patient, [member], day=5, hour=9)
    html = as_member.get(my_week()).content.decode()
    assert "days-7" in html and "Saturday" in html


def test_a_week_in_the_query_is_that_iso_week_and_nonsense_is_this_week(as_member):
    response = as_member.get(reverse("scheduling:my_week") + "?week=2026-W49")
    assert "30.11.–6.12.2026" in response.content.decode()
    response = as_member.get(reverse("scheduling:my_week") + "?week=nonsense")
    assert response.status_code == 200
    monday = timezone.localdate() - datetime.timedelta(days=timezone.localdate().weekday())
    assert f"Week {monday.isocalendar()[1]}" in response.content.decode()


def test_htmx_gets_the_grid_alone_with_links_to_the_next_and_previous_week(as_member):
    response = as_member.get(my_week(), **HTMX)
    html = response.content.decode()
    assert "<html" not in html and "week-grid" in html
    assert f"week={iso_week(MONDAY + datetime.timedelta(days=7))}" in html
    assert f"week={iso_week(MONDAY - datetime.timedelta(days=7))}" in html
    assert 'hx-push-url="true"' in html
    # A history restore htmx no longer has in its cache gets the whole page.
    response = as_member.get(my_week(), HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    assert "<html" in response.content.decode()


def test_a_colleagues_week_shows_their_appointments(as_member, colleague, patient):
    appointment(patient, [colleague], day=2, hour=13)
    response = as_member.get(my_week(f"&member={colleague.pk}"))
    assert response.status_code == 200
    html = response.content.decode()
    assert colleague.get_full_name() in html and "Karen Jensen" in html


def test_the_week_of_someone_outside_my_teams_is_404_and_logged(as_member, member, outsider):
    response = as_member.get(my_week(f"&member={outsider.pk}"))
    assert response.status_code == 404
    assert AccessLog.objects.filter(user=member, outcome=AccessOutcome.DENIED).exists()
    assert as_member.get(my_week("&member=abc")).status_code == 404


def test_a_colleague_in_two_teams_shows_the_other_teams_citizen_only_as_booked(
    as_member, colleague, other_team, patient
):
    colleague.teams.add(other_team)
    stranger = PatientFactory(team=other_team, first_name="Vibeke", last_name="Fremmed")
    appointment(stranger, [colleague], day=3, hour=9)
    appointment(patient, [colleague], day=3, hour=11)
    html = as_member.get(my_week(f"&member={colleague.pk}")).content.decode()
    assert "Vibeke" not in html and "Fremmed" not in html
    assert "Booked" in html
    assert "Karen Jensen" in html


def test_a_week_that_names_citizens_is_logged_as_a_list(as_member, member, patient):
    appointment(patient, [member])
    as_member.get(my_week())
    assert AccessLog.objects.filter(user=member, action=AccessAction.SEARCH, what__startswith="week ").exists()


def test_a_cancelled_appointment_is_not_in_the_week(as_member, member, patient):
    cancelled = appointment(patient, [member], status="cancelled_citizen", cancel_reason="Syg")
    assert not Reservation.objects.filter(appointment=cancelled).exists()
    assert "Karen Jensen" not in as_member.get(my_week()).content.decode()


# --- a team's week ------------------------------------------------------------------------------------


def test_a_teams_week_has_a_row_per_professional_with_their_appointments(
    as_member, member, colleague, coordinator, team, patient
):
    appointment(patient, [colleague], day=0, hour=9)
    response = as_member.get(reverse("scheduling:team_week", args=[team.public_id]) + f"?week={WEEK}")
    assert response.status_code == 200
    html = response.content.decode()
    # A row per professional: the team's coordinator is not one of them.
    assert html.count('scope="row"') == 2
    assert member.get_full_name() in html and colleague.get_full_name() in html
    assert "Karen Jensen" in html
    # Each free day offers its first free half-hour from 08:00.
    assert f"slot={MONDAY:%Y-%m-%d}T08%3A00" in html


def test_a_teams_week_is_404_for_an_outsider(as_outsider, outsider, team):
    response = as_outsider.get(reverse("scheduling:team_week", args=[team.public_id]))
    assert response.status_code == 404
    assert AccessLog.objects.filter(user=outsider, outcome=AccessOutcome.DENIED).exists()


# --- a room's week ------------------------------------------------------------------------------------


def test_a_rooms_week_names_the_citizen_to_the_care_team_only(as_member, as_outsider, member, patient):
    room = RoomFactory(name="Rum 3")
    appointment(patient, [member], day=1, hour=14, room=room)
    url = reverse("scheduling:room_week", args=[room.public_id]) + f"?week={WEEK}"
    mine = as_member.get(url).content.decode()
    assert "Karen Jensen" in mine
    theirs = as_outsider.get(url)
    assert theirs.status_code == 200
    html = theirs.content.decode()
    assert "Karen" not in html and "Jensen" not in html
    assert "Booked" in html and "Individual conversation" in html and "Rum 3" in html
    assert reverse("scheduling:appointment", args=[AppointmentFactory._meta.model.objects.get().public_id]) not in html


def test_a_rooms_week_shows_a_course_session(as_outsider, member, team):
    from patients.models import Programme

    room = RoomFactory()
    course = Course.objects.create(
        name="Diabetesskolen",
        programme=Programme.objects.get(code="diabetes-course"),
        team=team,
        room=room,
        weekday=2,
        starts_at=datetime.time(10),
        ends_at=datetime.time(12),
        first_day=MONDAY,
        session_count=1,
        created_by=member,
    )
    session = CourseSession.objects.create(course=course, number=1, starts_at=at(2, 10), ends_at=at(2, 12))
    Reservation.objects.create(during=(at(2, 10), at(2, 12)), room=room, session=session)
    html = as_outsider.get(reverse("scheduling:room_week", args=[room.public_id]) + f"?week={WEEK}").content.decode()
    assert "Diabetesskolen" in html and "block-course" in html


def test_an_unknown_room_is_404(as_member):
    import uuid

    assert as_member.get(reverse("scheduling:room_week", args=[uuid.uuid4()])).status_code == 404


# --- booking from a free slot -------------------------------------------------------------------------


def slot_url(member, query: str = "") -> str:
    return my_week(f"&professional={member.pk}&slot={MONDAY:%Y-%m-%d}T10:30" + query)


def matches(html: str) -> list[str]:
    return re.findall(r'data-testid="slot-match"><span>([^<]*)</span>', html)


def test_a_free_slot_asks_for_the_citizen_with_a_search_field_and_lists_no_one_yet(as_member, member, patient):
    response = as_member.get(slot_url(member), **HTMX)
    html = response.content.decode()
    assert "<html" not in html and "10:30" in html
    assert 'name="term"' in html and 'hx-trigger="input changed delay:300ms' in html
    assert re.search(rf'hx-post="{reverse("scheduling:my_week")}\?[^"]*professional={member.pk}&amp;slot=', html)
    assert "Jensen" not in html and "<select" not in html
    assert not AccessLog.objects.filter(user=member, action=AccessAction.SEARCH).exists()


def test_typing_a_name_finds_my_active_citizens_only_each_leading_on_to_the_booking(
    as_member, member, patient, team, other_team
):
    PatientFactory(team=other_team, first_name="Vibeke", last_name="Jensen")  # no care relation
    PatientFactory(team=team, first_name="Poul", last_name="Jensen", status="discharged")
    PatientFactory(team=team, first_name="Anders", last_name="Jensen")
    PatientFactory(team=team, first_name="Hans", last_name="Hansen")
    response = as_member.post(slot_url(member), {"term": "jensen"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<section" not in html  # the matches alone
    assert matches(html) == ["Jensen, Anders", "Jensen, Karen"]
    assert f"citizen={patient.public_id}" in html
    assert 'hx-target="#slot-panel"' in html
    assert not re.search(r'href="[^"]*jensen', html, re.IGNORECASE)  # the term is in no address
    assert AccessLog.objects.filter(
        user=member, action=AccessAction.SEARCH, what="citizen list term='jensen' page=1"
    ).exists()


def test_the_search_finds_a_citizen_by_the_start_of_the_cpr_number(as_member, member, patient, team):
    html = as_member.post(slot_url(member), {"term": patient.cpr[:6]}, **HTMX).content.decode()
    assert matches(html) == ["Jensen, Karen"]
    html = as_member.post(slot_url(member), {"term": f"{patient.cpr[:6]}-{patient.cpr[6:]}"}, **HTMX).content.decode()
    assert matches(html) == ["Jensen, Karen"]
    # A whole CPR number asks about one person: logged under them, as the citizens list does.
    assert AccessLog.objects.filter(user=member, patient_public_id=patient.public_id).exists()


def test_a_search_that_finds_no_one_says_so(as_member, member, patient):
    html = as_member.post(slot_url(member), {"term": "Zzyzx"}, **HTMX).content.decode()
    assert matches(html) == [] and "No active citizen of yours matches." in html


def test_a_teams_week_searches_that_teams_citizens_only(as_member, member, team, other_team, patient):
    member.teams.add(other_team)
    PatientFactory(team=other_team, first_name="Vibeke", last_name="Jensen")
    url = reverse("scheduling:team_week", args=[team.public_id])
    query = f"?week={WEEK}&professional={member.pk}&slot={MONDAY:%Y-%m-%d}T10:30"
    html = as_member.post(url + query, {"term": "Jensen"}, **HTMX).content.decode()
    assert matches(html) == ["Jensen, Karen"]
    # In my own week both my teams' citizens are found.
    html = as_member.post(slot_url(member), {"term": "Jensen"}, **HTMX).content.decode()
    assert matches(html) == ["Jensen, Karen", "Jensen, Vibeke"]


def test_without_javascript_the_search_is_a_form_that_shows_the_page_with_the_matches(as_member, member, patient):
    response = as_member.get(slot_url(member))
    html = response.content.decode()
    assert "<html" in html and "week-grid" in html and 'name="term"' in html and "Jensen" not in html
    assert 'method="post"' in html
    response = as_member.post(slot_url(member), {"term": "Karen"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html and "week-grid" in html
    assert matches(html) == ["Jensen, Karen"] and 'value="Karen"' in html


def test_a_post_to_a_week_that_is_not_a_slot_search_is_not_allowed(as_member, member, team):
    assert as_member.post(my_week(), {"term": "Jensen"}).status_code == 405
    url = reverse("scheduling:team_week", args=[team.public_id]) + f"?slot={MONDAY:%Y-%m-%d}T10:30"
    assert as_member.post(url, {"term": "Jensen"}).status_code == 405  # no professional of the team named


@pytest.mark.parametrize("count", [5, 60])
def test_the_citizen_search_reads_the_same_few_rows_however_many_citizens_match(
    count, as_member, member, team, django_assert_max_num_queries
):
    PatientFactory.create_batch(count, team=team, last_name="Mortensen")
    with django_assert_max_num_queries(SLOT_SEARCH_BUDGET):
        response = as_member.post(slot_url(member), {"term": "Mortensen"}, **HTMX)
    html = response.content.decode()
    names = matches(html)
    assert len(names) == min(count, 20)
    assert names == sorted(names)
    assert ("Only the first 20 matches are shown" in html) == (count > 20)


def test_choosing_the_citizen_opens_the_booking_form_for_the_slot(member, colleague, patient):
    as_member = client_for(member)  # in Danish: the date is written as Danes write it
    query = (
        f"&member={colleague.pk}&professional={colleague.pk}&slot={MONDAY:%Y-%m-%d}T10:30&citizen={patient.public_id}"
    )
    html = as_member.get(my_week(query), **HTMX).content.decode()
    assert reverse("scheduling:book", args=[patient.public_id]) in html
    assert f'value="{MONDAY:%d.%m.%Y}"' in html and 'value="10:30"' in html
    assert re.search(rf'value="{colleague.pk}"[^>]*checked', html)
    # Without htmx: the booking page, filled the same way, coming back to the week afterwards.
    response = as_member.get(my_week(query))
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("scheduling:book", args=[patient.public_id])
    params = parse_qs(location.query)
    assert params["professional"] == [str(colleague.pk)]
    assert params["start"][0].startswith(f"{MONDAY:%Y-%m-%d}T10:30")
    assert params["next"][0].startswith(reverse("scheduling:my_week"))


def test_a_slot_for_a_citizen_outside_my_teams_is_404(as_member, member, other_team):
    stranger = PatientFactory(team=other_team)
    query = f"&professional={member.pk}&slot={MONDAY:%Y-%m-%d}T10:30&citizen={stranger.public_id}"
    assert as_member.get(my_week(query), **HTMX).status_code == 404
    assert AccessLog.objects.filter(
        user=member, outcome=AccessOutcome.DENIED, patient_public_id=stranger.public_id
    ).exists()


# --- query budgets -----------------------------------------------------------------------------------------


def fill_week(count: int, people, room, team):
    """`count` appointments across the week: different citizens, some in the room, some of another team."""
    for index in range(count):
        patient = PatientFactory(team=team)
        appointment(
            patient,
            people,
            day=index % 5,
            hour=7 + (index // 5) % 11,
            minutes=30,
            room=room if index % 2 else None,
        )


@pytest.mark.parametrize("count", [1, 30])
def test_the_week_views_queries_do_not_grow_with_the_appointments(
    count, member, colleague, team, django_assert_max_num_queries
):
    room = RoomFactory()
    fill_week(count, [member, colleague], room, team)
    client = english(client_for(member))
    urls = [
        my_week(),
        my_week(f"&member={colleague.pk}"),
        reverse("scheduling:team_week", args=[team.public_id]) + f"?week={WEEK}",
        reverse("scheduling:room_week", args=[room.public_id]) + f"?week={WEEK}",
    ]
    for url in urls:
        with django_assert_max_num_queries(WEEK_BUDGET):
            response = client.get(url)
        assert response.status_code == 200
        assert response.content.decode().count('data-testid="block"') >= (1 if "room" not in url else 0)


def test_a_busy_week_shows_every_appointment(member, colleague, team):
    room = RoomFactory()
    fill_week(30, [member, colleague], room, team)
    html = english(client_for(member)).get(my_week()).content.decode()
    assert html.count('data-testid="block"') == 30
    team_html = (
        english(client_for(member))
        .get(reverse("scheduling:team_week", args=[team.public_id]) + f"?week={WEEK}")
        .content.decode()
    )
    assert team_html.count('data-testid="block"') == 60


def test_the_week_pages_are_for_those_who_work_with_citizens(manager, team):
    client = client_for(manager)
    assert client.get(reverse("scheduling:my_week")).status_code == 404
    assert client.get(reverse("scheduling:team_week", args=[team.public_id])).status_code == 404


def test_the_week_page_links_its_stylesheet_and_has_no_inline_style(as_member, member, patient):
    appointment(patient, [member])
    html = as_member.get(my_week()).content.decode()
    assert "css/calendar.css" in html and "js/calendar.js" in html
    assert "style=" not in html and "<style" not in html and "hx-on" not in html


def test_a_new_colleague_without_appointments_gets_an_empty_week(team):
    newcomer = UserFactory(teams=[team])
    response = client_for(newcomer).get(my_week())
    assert response.status_code == 200
    assert 'data-testid="block"' not in response.content.decode()
