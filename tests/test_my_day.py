"""My day (issue 13): the professional's own appointments and course sessions of a day, the briefing one
click away, logging the encounter from an appointment (pre-filled, linked, attended when signed), and
"did not attend" with its follow-up task."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.translation import gettext

from healthcenter.models import AccessAction, AccessLog, AccessOutcome
from patients.models import Encounter, Programme
from patients.services import stale_error
from scheduling.models import Appointment, AppointmentStatus, Course, CourseParticipant, CourseSession
from scheduling.views.day import follow_up_title

from .conftest import client_for
from .factories import AppointmentFactory, EncounterFactory, PatientFactory, RoomFactory, UserFactory

pytestmark = pytest.mark.django_db

# A day that has passed whatever the time of day the tests run (every appointment on it has begun),
# and one to come (none has).
PAST_DAY = timezone.localdate() - datetime.timedelta(days=3)
COMING_DAY = timezone.localdate() + datetime.timedelta(days=30)


def danish(text: str) -> str:
    """What the page says in Danish, the default language (the English text while a msgid awaits its translation)."""
    with translation.override("da"):
        return gettext(text)


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def my_day_url(day: datetime.date) -> str:
    return f"{reverse('scheduling:my_day')}?day={day.isoformat()}"


def appointment(patient, *people, day=PAST_DAY, hour=10, minutes=45, **fields) -> Appointment:
    start = at(day, hour)
    return AppointmentFactory(
        patient=patient,
        professionals=list(people),
        starts_at=start,
        ends_at=start + datetime.timedelta(minutes=minutes),
        **fields,
    )


def course_with_session(team, teacher, creator, *, day=PAST_DAY, hour=13, participants=()) -> CourseSession:
    course = Course.objects.create(
        name="Diabetesskole, forår",
        programme=Programme.objects.get(code="diabetes-course"),
        team=team,
        room=RoomFactory(name="Store sal"),
        weekday=day.weekday(),
        starts_at=datetime.time(hour),
        ends_at=datetime.time(hour + 2),
        first_day=day,
        session_count=1,
        created_by=creator,
    )
    course.professionals.set([teacher])
    for citizen in participants:
        CourseParticipant.objects.create(course=course, patient=citizen, joined_on=day, added_by=creator)
    return CourseSession.objects.create(course=course, number=1, starts_at=at(day, hour), ends_at=at(day, hour + 2))


def items(response) -> list:
    return response.context["plan"].items


class TestWhoSeesWhat:
    def test_the_member_sees_their_day_in_time_order_with_name_cpr_and_the_briefing(
        self, as_member, member, patient, team
    ):
        later = appointment(patient, member, hour=14, purpose="Fodundersøgelse")
        earlier = appointment(PatientFactory(team=team), member, hour=9, kind="phone")
        response = as_member.get(my_day_url(PAST_DAY))
        assert response.status_code == 200
        assert [item.appointment for item in items(response)] == [earlier, later]
        page = response.content.decode()
        assert "Karen Jensen" in page and patient.cpr_formatted in page
        assert "Fodundersøgelse" in page
        assert reverse("coordination:briefing", args=[patient.public_id]) in page
        assert reverse("patients:detail", args=[patient.public_id]) in page

    def test_the_day_is_today_when_none_is_asked_for(self, as_member):
        response = as_member.get(reverse("scheduling:my_day"))
        assert response.context["plan"].day == timezone.localdate()
        assert (
            as_member.get(reverse("scheduling:my_day"), {"day": "not-a-date"}).context["plan"].day
            == timezone.localdate()
        )

    def test_a_home_visit_shows_the_citizens_address_and_a_room_its_name(self, as_member, member, patient):
        patient.address = "Søndergade 12, 8000 Aarhus C"
        patient.save(update_fields=["address"])
        appointment(patient, member, hour=9, kind="home_visit")
        appointment(patient, member, hour=11, room=RoomFactory(name="Samtalerum Lærken"))
        page = as_member.get(my_day_url(PAST_DAY)).content.decode()
        assert "Søndergade 12, 8000 Aarhus C" in page
        assert "Samtalerum Lærken" in page

    def test_a_colleague_in_the_team_sees_the_names_of_their_own_appointments(self, as_colleague, colleague, patient):
        appointment(patient, colleague)
        response = as_colleague.get(my_day_url(PAST_DAY))
        assert [item.named for item in items(response)] == [True]
        assert "Karen Jensen" in response.content.decode()

    def test_the_day_is_always_ones_own_so_an_outsider_sees_an_empty_day(self, as_outsider, member, patient):
        appointment(patient, member)
        response = as_outsider.get(my_day_url(PAST_DAY))
        assert response.status_code == 200
        assert items(response) == []
        page = response.content.decode()
        assert "Karen Jensen" not in page and 'data-testid="empty-day"' in page
        assert reverse("scheduling:my_week") in page

    def test_a_citizen_outside_the_viewers_teams_is_never_named(self, member, patient, other_team):
        """A professional who has left the citizen's team keeps the appointment in their day, but not the name."""
        appointment(patient, member)
        member.teams.set([other_team])
        response = client_for(member).get(my_day_url(PAST_DAY))
        [item] = items(response)
        assert item.named is False
        page = response.content.decode()
        assert "Karen Jensen" not in page and patient.cpr_formatted not in page
        assert str(patient.public_id) not in page

    def test_the_reason_a_citizen_outside_the_viewers_teams_cancelled_is_not_shown(self, member, patient, other_team):
        """The reason is the care team's free text about the citizen ("indlagt", "død"): only for the name's readers."""
        appointment(
            patient,
            member,
            status=AppointmentStatus.CANCELLED_BY_CITIZEN,
            cancel_reason="Indlagt med hjertesvigt",
        )
        member.teams.set([other_team])
        response = client_for(member).get(my_day_url(PAST_DAY))
        [item] = response.context["plan"].cancelled
        assert item.named is False
        assert "Indlagt med hjertesvigt" not in response.content.decode()

    def test_the_care_team_sees_why_an_appointment_was_cancelled(self, as_member, member, patient):
        appointment(
            patient,
            member,
            status=AppointmentStatus.CANCELLED_BY_CITIZEN,
            cancel_reason="Indlagt med hjertesvigt",
        )
        assert "Indlagt med hjertesvigt" in as_member.get(my_day_url(PAST_DAY)).content.decode()

    @pytest.mark.parametrize("persona", ["manager", "administrator"])
    def test_roles_that_do_not_work_with_citizens_get_404(self, request, persona):
        user = request.getfixturevalue(persona)
        assert client_for(user).get(reverse("scheduling:my_day")).status_code == 404

    def test_the_list_is_logged_once_with_its_day(self, as_member, member, patient):
        appointment(patient, member)
        as_member.get(my_day_url(PAST_DAY))
        rows = AccessLog.objects.filter(user=member, what=f"my day {PAST_DAY.isoformat()}")
        assert rows.count() == 1
        assert rows.get().action == AccessAction.SEARCH


class TestTheDaysShape:
    def test_a_course_session_taught_shows_once_with_its_participants(self, as_member, member, coordinator, team):
        citizens = [PatientFactory(team=team) for _ in range(3)]
        session = course_with_session(team, member, coordinator, participants=citizens)
        CourseParticipant.objects.filter(patient=citizens[0]).update(
            status="dropped_out", dropped_out_on=PAST_DAY, dropout_reason="Flyttet"
        )
        # Each participant's appointment points at the session; the day shows the session once.
        for citizen in citizens:
            Appointment.objects.create(
                patient=citizen,
                kind="group",
                starts_at=session.starts_at,
                ends_at=session.ends_at,
                place="room",
                room=session.course.room,
                session=session,
                booked_by=coordinator,
            ).professionals.set([member])
        response = as_member.get(my_day_url(PAST_DAY))
        [item] = items(response)
        assert item.session == session and item.participants == 2
        assert 'data-testid="participants">2 ' in response.content.decode()

    def test_cancelled_appointments_come_last_struck_through(self, as_member, member, patient):
        cancelled = appointment(
            patient, member, hour=8, status=AppointmentStatus.CANCELLED_BY_CITIZEN, cancel_reason="Syg"
        )
        kept = appointment(patient, member, hour=11)
        response = as_member.get(my_day_url(PAST_DAY))
        assert [item.appointment for item in items(response)] == [kept]
        assert [item.appointment for item in response.context["plan"].cancelled] == [cancelled]
        page = response.content.decode()
        assert page.index(f"appointment-{kept.public_id}") < page.index(f"appointment-{cancelled.public_id}")
        assert "text-decoration-line-through" in page.split(f"appointment-{cancelled.public_id}")[1]

    def test_other_days_and_other_peoples_appointments_are_not_in_the_day(self, as_member, member, colleague, patient):
        appointment(patient, member, day=PAST_DAY - datetime.timedelta(days=1))
        appointment(patient, colleague)
        assert items(as_member.get(my_day_url(PAST_DAY))) == []

    def test_previous_and_next_day_links_and_the_htmx_fragment(self, as_member):
        response = as_member.get(my_day_url(PAST_DAY))
        page = response.content.decode()
        assert f"?day={(PAST_DAY - datetime.timedelta(days=1)).isoformat()}" in page
        assert f"?day={(PAST_DAY + datetime.timedelta(days=1)).isoformat()}" in page
        fragment = as_member.get(my_day_url(PAST_DAY), headers={"HX-Request": "true"}).content.decode()
        assert 'id="my-day"' in fragment and "<html" not in fragment
        restored = as_member.get(
            my_day_url(PAST_DAY), headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
        )
        assert "<html" in restored.content.decode()

    @pytest.mark.parametrize("count", [1, 15])
    def test_the_query_budget_does_not_grow_with_the_appointments(
        self, as_member, member, coordinator, team, count, django_assert_max_num_queries
    ):
        course_with_session(team, member, coordinator, hour=7, participants=[PatientFactory(team=team)])
        colleague = UserFactory(teams=[team])
        for i in range(count):
            citizen = PatientFactory(team=team)
            start = at(PAST_DAY, 8) + datetime.timedelta(minutes=30 * i)
            AppointmentFactory(
                patient=citizen,
                professionals=[member, colleague],
                starts_at=start,
                ends_at=start + datetime.timedelta(minutes=25),
                room=RoomFactory() if i % 2 else None,
                status="did_not_attend" if i % 3 == 0 else "booked",
            )
        with django_assert_max_num_queries(7):
            response = as_member.get(my_day_url(PAST_DAY))
        assert len(items(response)) == count + 1


class TestLoggingTheEncounterFromAnAppointment:
    def form_url(self, meeting) -> str:
        url = reverse("coordination:encounter_create", args=[meeting.patient.public_id])
        return f"{url}?appointment={meeting.public_id}"

    def posted(self, meeting, **overrides) -> dict:
        data = {
            "kind": meeting.kind,
            "started_at": timezone.localtime(meeting.starts_at).strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": "45",
            "note": "Gennemgang af blodsukker.",
            "appointment": str(meeting.public_id),
            "sign": "1",
        }
        data.update(overrides)
        return {key: value for key, value in data.items() if value is not None}

    def test_my_day_offers_log_encounter_on_an_appointment_that_has_begun(self, as_member, member, patient):
        begun = appointment(patient, member)
        coming = appointment(patient, member, day=COMING_DAY)
        assert self.form_url(begun) in as_member.get(my_day_url(PAST_DAY)).content.decode()
        page = as_member.get(my_day_url(COMING_DAY)).content.decode()
        assert 'data-testid="log-encounter"' not in page and 'data-testid="did-not-attend"' not in page
        assert reverse("coordination:briefing", args=[coming.patient.public_id]) in page

    def test_the_form_is_prefilled_from_the_appointment(self, as_member, member, colleague, patient):
        meeting = appointment(patient, member, colleague, hour=9, minutes=50, kind="home_visit", purpose="HbA1c")
        response = as_member.get(self.form_url(meeting))
        assert response.status_code == 200
        form = response.context["form"]
        assert form.initial["kind"] == "home_visit"
        assert form.initial["started_at"] == timezone.localtime(meeting.starts_at)
        assert form.initial["duration_minutes"] == 50
        page = response.content.decode()
        assert f'name="appointment" value="{meeting.public_id}"' in page
        banner = page.split('data-testid="from-appointment"')[1].split("</div>")[0]
        assert "09:00" in banner and str(colleague) in banner and "HbA1c" in banner

    def test_signing_links_the_encounter_and_marks_the_appointment_attended(self, as_member, member, patient):
        meeting = appointment(patient, member)
        response = as_member.post(self.form_url(meeting), self.posted(meeting))
        assert response.status_code == 302
        # Back to My day on the appointment's day, at its line, with what was done.
        assert response["Location"] == f"{my_day_url(PAST_DAY)}#appointment-{meeting.public_id}"
        assert as_member.get(response["Location"]).context["messages"]
        meeting.refresh_from_db()
        encounter = Encounter.objects.get(patient=patient)
        assert meeting.encounter == encounter and encounter.is_signed
        assert meeting.status == AppointmentStatus.ATTENDED
        day = as_member.get(my_day_url(PAST_DAY)).content.decode()
        assert 'data-testid="logged"' in day and self.form_url(meeting) not in day

    def test_a_draft_links_without_attending_and_signing_it_later_attends(self, as_member, member, patient):
        meeting = appointment(patient, member)
        as_member.post(self.form_url(meeting), self.posted(meeting, sign=None, draft="1"))
        meeting.refresh_from_db()
        draft = Encounter.objects.get(patient=patient)
        assert meeting.encounter == draft and meeting.status == AppointmentStatus.BOOKED
        # "Log encounter" now opens the draft.
        again = as_member.get(self.form_url(meeting))
        assert again["Location"] == reverse("coordination:encounter_edit", args=[draft.public_id])
        edit = as_member.get(again["Location"])
        assert 'data-testid="from-appointment"' in edit.content.decode()
        as_member.post(reverse("coordination:encounter_sign", args=[draft.public_id]), {"version": draft.version})
        meeting.refresh_from_db()
        assert meeting.status == AppointmentStatus.ATTENDED

    def test_signing_the_draft_from_its_form_attends_too(self, as_member, member, patient):
        meeting = appointment(patient, member)
        as_member.post(self.form_url(meeting), self.posted(meeting, sign=None, draft="1"))
        draft = Encounter.objects.get(patient=patient)
        form = self.posted(meeting, appointment=None, version=str(draft.version))
        response = as_member.post(reverse("coordination:encounter_edit", args=[draft.public_id]), form)
        assert response.status_code == 302
        assert response["Location"].startswith(my_day_url(PAST_DAY))
        meeting.refresh_from_db()
        assert meeting.status == AppointmentStatus.ATTENDED

    def test_a_signed_appointment_says_it_is_logged_instead_of_a_second_form(self, as_member, member, patient):
        meeting = appointment(patient, member)
        as_member.post(self.form_url(meeting), self.posted(meeting))
        response = as_member.get(self.form_url(meeting))
        assert response["Location"] == reverse("patients:detail", args=[patient.public_id])
        # A second post (another tab) is refused and saves nothing.
        refused = as_member.post(self.form_url(meeting), self.posted(meeting))
        assert refused.status_code == 200
        assert danish("An encounter has already been logged from this appointment.") in refused.content.decode()
        assert Encounter.objects.filter(patient=patient).count() == 1

    def test_a_mistaken_no_show_becomes_attended_when_the_encounter_is_signed(self, as_member, member, patient):
        meeting = appointment(patient, member, status=AppointmentStatus.DID_NOT_ATTEND)
        assert self.form_url(meeting) in as_member.get(my_day_url(PAST_DAY)).content.decode()
        as_member.post(self.form_url(meeting), self.posted(meeting))
        meeting.refresh_from_db()
        assert meeting.status == AppointmentStatus.ATTENDED

    def test_the_appointment_is_kept_through_form_errors(self, as_member, member, patient):
        meeting = appointment(patient, member)
        response = as_member.post(self.form_url(meeting), self.posted(meeting, note="", duration_minutes="0"))
        assert response.status_code == 200
        page = response.content.decode()
        assert f'name="appointment" value="{meeting.public_id}"' in page
        assert 'data-testid="from-appointment"' in page
        assert not Encounter.objects.filter(patient=patient).exists()

    def test_another_citizens_appointment_is_404(self, as_member, member, patient, team):
        other = appointment(PatientFactory(team=team), member)
        url = reverse("coordination:encounter_create", args=[patient.public_id]) + f"?appointment={other.public_id}"
        assert as_member.get(url).status_code == 404
        assert as_member.post(url, self.posted(other)).status_code == 404
        assert not Encounter.objects.exists()

    def test_an_unknown_or_malformed_appointment_is_404(self, as_member, patient):
        url = reverse("coordination:encounter_create", args=[patient.public_id])
        assert as_member.get(url + "?appointment=nonsense").status_code == 404
        assert as_member.get(url + "?appointment=00000000-0000-0000-0000-000000000000").status_code == 404

    def test_an_outsider_cannot_use_the_appointment(self, as_outsider, member, patient):
        meeting = appointment(patient, member)
        assert as_outsider.get(self.form_url(meeting)).status_code == 404


class TestDidNotAttend:
    def url(self, meeting) -> str:
        return reverse("scheduling:did_not_attend", args=[meeting.public_id])

    def test_one_click_marks_it_and_the_day_offers_a_follow_up_task(self, as_member, member, patient):
        meeting = appointment(patient, member)
        day = as_member.get(my_day_url(PAST_DAY)).content.decode()
        assert self.url(meeting) in day
        response = as_member.post(self.url(meeting), {"version": meeting.version})
        assert response.status_code == 302
        assert response["Location"].startswith(my_day_url(PAST_DAY))
        meeting.refresh_from_db()
        assert meeting.status == AppointmentStatus.DID_NOT_ATTEND
        page = as_member.get(response["Location"]).content.decode()
        assert f'data-testid="status">{danish("Did not attend")}<' in page
        link = page.split('data-testid="follow-up"')[0].rsplit('href="', 1)[1].split('"')[0]
        query = parse_qs(urlsplit(link.replace("&amp;", "&")).query)
        assert urlsplit(link).path == reverse("coordination:task_create")
        assert query["citizen"] == [str(patient.public_id)]
        assert "Karen" not in query["title"][0] and patient.cpr not in query["title"][0]

    def test_the_follow_up_task_is_offered_once_on_the_page_the_marking_leads_to(self, as_member, member, patient):
        meeting = appointment(patient, member)
        marked = as_member.post(self.url(meeting), {"version": meeting.version})
        assert 'data-testid="follow-up"' in as_member.get(marked["Location"]).content.decode()
        # Coming back later (the task may well exist by now) it is not offered again.
        again = as_member.get(my_day_url(PAST_DAY)).content.decode()
        assert 'data-testid="follow-up"' not in again
        assert f'data-testid="status">{danish("Did not attend")}<' in again

    def test_the_task_form_takes_the_offered_title_and_the_user_as_assignee(self, as_member, member, patient):
        meeting = appointment(patient, member)
        marked = as_member.post(self.url(meeting), {"version": meeting.version})
        page = as_member.get(marked["Location"]).content.decode()
        link = page.split('data-testid="follow-up"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
        form = as_member.get(link).context["form"]
        title = form.initial["title"]
        with translation.override("da"):
            assert title == follow_up_title(meeting)
        assert timezone.localtime(meeting.starts_at).strftime("%H.%M") in title.replace(":", ".")
        assert form.initial["team"] == patient.team_id
        assert form.initial["assignee"] == member.pk

    def test_a_stale_version_changes_nothing_and_says_why(self, as_member, member, patient):
        meeting = appointment(patient, member)
        response = as_member.post(self.url(meeting), {"version": meeting.version + 1}, follow=True)
        meeting.refresh_from_db()
        assert meeting.status == AppointmentStatus.BOOKED
        assert escape(danish(stale_error().messages[0])) in response.content.decode()
        assert AccessLog.objects.filter(
            user=member, what="did not attend", outcome=AccessOutcome.REJECTED, patient_public_id=patient.public_id
        ).exists()

    def test_an_appointment_that_has_not_begun_cannot_be_missed(self, as_member, member, patient):
        meeting = appointment(patient, member, day=COMING_DAY)
        response = as_member.post(self.url(meeting), {"version": meeting.version}, follow=True)
        meeting.refresh_from_db()
        assert meeting.status == AppointmentStatus.BOOKED
        assert escape(danish("An appointment that has not begun cannot be missed yet.")) in response.content.decode()

    def test_a_form_without_version_changes_nothing(self, as_member, member, patient):
        meeting = appointment(patient, member)
        as_member.post(self.url(meeting), {})
        meeting.refresh_from_db()
        assert meeting.status == AppointmentStatus.BOOKED

    def test_get_is_refused_with_405(self, as_member, member, patient):
        assert as_member.get(self.url(appointment(patient, member))).status_code == 405

    def test_an_outsider_and_a_manager_get_404_and_nothing_changes(self, as_outsider, manager, member, patient):
        meeting = appointment(patient, member)
        assert as_outsider.post(self.url(meeting), {"version": meeting.version}).status_code == 404
        assert client_for(manager).post(self.url(meeting), {"version": meeting.version}).status_code == 404
        meeting.refresh_from_db()
        assert meeting.status == AppointmentStatus.BOOKED

    def test_a_colleague_in_the_care_team_may_mark_it(self, as_colleague, member, patient):
        meeting = appointment(patient, member)
        as_colleague.post(self.url(meeting), {"version": meeting.version})
        meeting.refresh_from_db()
        assert meeting.status == AppointmentStatus.DID_NOT_ATTEND


class TestHome:
    def test_a_professional_starts_on_my_day(self, as_member):
        assert as_member.get(reverse("home"))["Location"] == reverse("scheduling:my_day")

    def test_a_coordinator_keeps_the_board(self, coordinator):
        assert client_for(coordinator).get(reverse("home"))["Location"] == reverse("coordination:board")

    def test_the_calendar_menu_is_there_for_people_who_work_with_citizens(self, as_member, manager):
        page = as_member.get(reverse("scheduling:my_day")).content.decode()
        for name in ["scheduling:my_day", "scheduling:my_week", "scheduling:courses", "scheduling:subscription"]:
            assert f'href="{reverse(name)}"' in page
        manager_page = client_for(manager).get(reverse("reporting:overview")).content.decode()
        assert 'data-testid="calendar-menu"' not in manager_page


def test_an_encounter_logged_without_an_appointment_leaves_the_calendar_alone(as_member, member, patient):
    meeting = appointment(patient, member)
    EncounterFactory(patient=patient, professional=member)
    as_member.post(
        reverse("coordination:encounter_create", args=[patient.public_id]),
        {
            "kind": "individual",
            "started_at": timezone.localtime(meeting.starts_at).strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": "30",
            "note": "Telefonopkald",
            "sign": "1",
        },
    )
    meeting.refresh_from_db()
    assert meeting.status == AppointmentStatus.BOOKED and meeting.encounter is None
