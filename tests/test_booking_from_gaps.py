"""Booking from where the need is seen (issue 13): a care gap's "Book" on the worklist and the
briefing, the gap then shown as booked while its appointment is to come, each citizen's next
appointment on the worklist, and the first contact booked while a referral is accepted."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import pgettext

from coordination import services
from coordination.models import CareGap, CareGapRule, Referral, Task
from healthcenter.models import AccessLog, AccessOutcome
from patients.models import Enrolment, Programme
from scheduling import services as scheduling_services
from scheduling.models import Appointment, Course

from .conftest import client_for
from .factories import AppointmentFactory, PatientFactory, ReferralFactory, RoomFactory, TeamFactory, UserFactory

HOUR = datetime.timedelta(hours=1)


def at(days: int, hour: int = 10) -> datetime.datetime:
    """`hour` o'clock local time, `days` from today: whatever the time of day the test runs."""
    day = timezone.localdate() + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def day_month(moment: datetime.datetime) -> str:
    """ "12.12" in Danish: how a booked gap names its day."""
    with translation.override("da"):
        return formats.date_format(timezone.localdate(moment), pgettext("a day and month, as a date format", "d-m"))


@pytest.fixture
def rule():
    return CareGapRule.objects.get(code="hba1c-12m")


@pytest.fixture
def gap(patient, rule):
    return CareGap.objects.create(patient=patient, rule=rule)


@pytest.fixture
def room(db):
    return RoomFactory(name="Samtalerum 1")


def book_url(patient, rule, **query) -> str:
    url = reverse("coordination:care_gap_book", args=[patient.public_id, rule.code])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def booking(start: datetime.datetime, *, professionals, room, purpose="HbA1c-kontrol", minutes=30) -> dict:
    local = timezone.localtime(start)
    return {
        "kind": "individual",
        "day": local.date().isoformat(),
        "start_time": local.strftime("%H:%M"),
        "duration": minutes,
        "place": "room",
        "room": str(room.public_id),
        "professionals": [p.pk for p in professionals],
        "purpose": purpose,
    }


def worklist_row(client, patient):
    response = client.get(reverse("coordination:worklist"))
    assert response.status_code == 200
    (row,) = [r for r in response.context["page"].object_list if r.patient.pk == patient.pk]
    return row, response.content.decode()


def data(start: datetime.datetime, professionals, room=None) -> scheduling_services.AppointmentData:
    return scheduling_services.AppointmentData(
        kind="individual",
        starts_at=start,
        ends_at=start + 30 * datetime.timedelta(minutes=1),
        place="room" if room else "home",
        room=room,
        professionals=professionals,
        purpose="HbA1c-kontrol",
    )


@pytest.mark.django_db
class TestBookingFromACareGap:
    def test_the_worklist_offers_book_on_a_missing_gap_and_the_form_is_filled_from_it(
        self, as_member, member, patient, gap, rule
    ):
        row, page = worklist_row(as_member, patient)
        assert row.gaps == [gap] and row.gaps[0].booked_day is None
        assert 'data-testid="gap-missing"' in page
        assert reverse("coordination:care_gap_book", args=[patient.public_id, rule.code]) in page

        form = as_member.get(book_url(patient, rule)).context["form"]
        assert form.initial["purpose"] == rule.name
        assert [p.pk for p in form.initial["professionals"]] == [member.pk]

    def test_booking_links_the_gap_and_the_worklist_then_shows_booked_and_the_next_appointment(
        self, as_member, member, colleague, patient, gap, rule, room
    ):
        start = at(3)
        response = as_member.post(
            book_url(patient, rule),
            {**booking(start, professionals=[member, colleague], room=room), "next": "/worklist/"},
        )
        assert response.status_code == 302 and response["Location"] == "/worklist/"
        gap.refresh_from_db()
        appointment = gap.appointment
        assert (appointment.patient, appointment.starts_at, appointment.purpose) == (patient, start, "HbA1c-kontrol")
        assert set(appointment.professionals.all()) == {member, colleague}
        assert gap.closed_at is None  # booked is not measured: the gap stays open until it is filled

        row, page = worklist_row(as_member, patient)
        assert row.gaps[0].booked_day == timezone.localdate(start)
        assert row.next_appointment == appointment
        assert 'data-testid="gap-booked"' in page and 'data-testid="gap-missing"' not in page
        assert day_month(start) in page or formats.date_format(timezone.localdate(start), "d-m") in page
        assert formats.date_format(timezone.localtime(start), "SHORT_DATETIME_FORMAT") in page

    def test_a_clash_shows_the_services_message_and_neither_books_nor_links(
        self, as_member, member, patient, gap, rule, room
    ):
        start = at(4)
        AppointmentFactory(patient=PatientFactory(team=patient.team), starts_at=start, professionals=[member])
        before = Appointment.objects.count()

        response = as_member.post(book_url(patient, rule), booking(start, professionals=[member], room=room))

        assert response.status_code == 200
        errors = response.context["form"].non_field_errors()
        assert any(member.get_full_name() in error for error in errors), errors
        assert member.get_full_name() in response.content.decode()
        gap.refresh_from_db()
        assert gap.appointment is None and Appointment.objects.count() == before
        assert AccessLog.objects.filter(
            user=member, outcome=AccessOutcome.REJECTED, patient_public_id=patient.public_id
        ).exists()

    def test_a_cancelled_appointment_shows_the_gap_as_missing_again(self, as_member, member, patient, gap, room):
        appointment = services.care_gap_book(actor=member, gap=gap, data=data(at(5), [member], room))
        scheduling_services.appointment_cancel(
            actor=member,
            appointment=appointment,
            expected_version=appointment.version,
            by_citizen=True,
            reason="Borgeren er syg",
        )
        row, page = worklist_row(as_member, patient)
        assert row.gaps[0].booked_day is None and row.next_appointment is None
        assert 'data-testid="gap-missing"' in page and 'data-testid="gap-book"' in page
        gap.refresh_from_db()
        assert gap.closed_at is None and gap.appointment == appointment

    def test_a_past_or_missed_appointment_is_not_in_time(self, as_member, member, patient, gap, rule):
        yesterday = AppointmentFactory(patient=patient, starts_at=at(-1), professionals=[member])
        CareGap.objects.filter(pk=gap.pk).update(appointment=yesterday)
        row, _page = worklist_row(as_member, patient)
        assert row.gaps[0].booked_day is None  # still "booked", but its day has passed

        missed = AppointmentFactory(patient=patient, starts_at=at(2), professionals=[member], status="did_not_attend")
        CareGap.objects.filter(pk=gap.pk).update(appointment=missed)
        row, _page = worklist_row(as_member, patient)
        assert row.gaps[0].booked_day is None

    def test_an_appointment_booked_without_the_gaps_button_does_not_count_but_is_the_next_appointment(
        self, as_member, member, patient, gap
    ):
        later = AppointmentFactory(patient=patient, starts_at=at(9), professionals=[member])
        sooner = AppointmentFactory(patient=patient, starts_at=at(2), professionals=[member])
        AppointmentFactory(patient=patient, starts_at=at(-3), professionals=[member])  # past: not next
        row, page = worklist_row(as_member, patient)
        assert row.gaps[0].booked_day is None
        assert row.next_appointment == sooner != later
        assert 'data-testid="gap-missing"' in page

    def test_a_booked_gap_is_not_booked_twice(self, member, patient, gap, room):
        services.care_gap_book(actor=member, gap=gap, data=data(at(3), [member], room))
        with pytest.raises(ValidationError) as refused:
            services.care_gap_book(actor=member, gap=gap, data=data(at(6), [member], room))
        assert refused.value.code == "booked"
        assert Appointment.objects.filter(patient=patient).count() == 1

    def test_a_gap_filled_in_the_meantime_sends_back_with_a_word(self, as_member, patient, gap, rule):
        CareGap.objects.filter(pk=gap.pk).update(closed_at=timezone.now())
        response = as_member.get(book_url(patient, rule), follow=True)
        assert response.redirect_chain[-1][0] == reverse("coordination:worklist")
        assert not Appointment.objects.filter(patient=patient).exists()

    def test_it_goes_back_only_to_our_own_pages(self, as_member, member, patient, gap, rule, room):
        response = as_member.post(
            book_url(patient, rule),
            {**booking(at(3), professionals=[member], room=room), "next": "https://evil.example/"},
        )
        assert response["Location"] == reverse("coordination:worklist")

    def test_a_colleague_books_too(self, as_colleague, colleague, patient, gap, rule, room):
        response = as_colleague.post(book_url(patient, rule), booking(at(3), professionals=[colleague], room=room))
        assert response.status_code == 302
        gap.refresh_from_db()
        assert gap.appointment is not None

    def test_it_rejects_outsider_with_a_404_logged_under_the_citizen(self, as_outsider, outsider, patient, gap, rule):
        assert as_outsider.get(book_url(patient, rule)).status_code == 404
        assert as_outsider.post(book_url(patient, rule), {}).status_code == 404
        assert (
            AccessLog.objects.filter(
                user=outsider, outcome=AccessOutcome.DENIED, patient_public_id=patient.public_id
            ).count()
            == 2
        )

    def test_it_does_not_exist_for_the_manager(self, manager, patient, gap, rule):
        assert client_for(manager).get(book_url(patient, rule)).status_code == 404


@pytest.mark.django_db
class TestTheBriefing:
    def test_it_shows_the_next_appointments_and_the_booked_gap(self, as_member, member, colleague, patient, gap, room):
        appointment = services.care_gap_book(actor=member, gap=gap, data=data(at(3), [member, colleague], room))
        home = AppointmentFactory(patient=patient, starts_at=at(8), professionals=[colleague], kind="home_visit")
        AppointmentFactory(patient=patient, starts_at=at(-2), professionals=[member])
        response = as_member.get(reverse("coordination:briefing", args=[patient.public_id]))
        b = response.context["b"]
        assert b.next_appointments == [appointment, home]
        assert b.gaps[0].booked_day == timezone.localdate(appointment.starts_at)
        page = response.content.decode()
        assert 'data-testid="gap-booked"' in page
        assert colleague.get_full_name() in page and room.name in page

    def test_a_missing_gap_offers_book_and_comes_back_to_the_briefing(self, as_member, patient, gap, rule):
        url = reverse("coordination:briefing", args=[patient.public_id])
        page = as_member.get(url).content.decode()
        assert 'data-testid="gap-missing"' in page
        assert f"{book_url(patient, rule)}?next={url}" in page


@pytest.mark.django_db
class TestFirstContactFromAReferral:
    @pytest.fixture
    def referral(self, patient, coordinator):
        return ReferralFactory(patient=patient, created_by=coordinator, received_on=timezone.localdate())

    def accept(self, referral, member, room, start, programme="diabetes-follow-up") -> dict:
        fields = {
            "accept": "1",
            "programme": Programme.objects.get(code=programme).id,
            "start_on": timezone.localdate().isoformat(),
            "assignee": member.id,
            "book_first_contact": "on",
        }
        fields.update({f"contact-{k}": v for k, v in booking(start, professionals=[member], room=room).items()})
        return fields

    def test_accepting_books_the_first_contact_in_the_same_step(self, coordinator, member, referral, room):
        start = at(6)
        response = client_for(coordinator).post(
            reverse("coordination:referral", args=[referral.public_id]), self.accept(referral, member, room, start)
        )
        assert response.status_code == 302
        referral.refresh_from_db()
        assert referral.status == "accepted"
        appointment = Appointment.objects.get(patient=referral.patient)
        assert (appointment.starts_at, list(appointment.professionals.all())) == (start, [member])
        first = Task.objects.get(origin="referral")
        assert first.due_on == timezone.localdate(start)

    def test_a_clash_accepts_nothing_and_the_form_says_why(self, coordinator, member, referral, room):
        start = at(6)
        AppointmentFactory(patient=PatientFactory(team=referral.team), starts_at=start, professionals=[member])
        response = client_for(coordinator).post(
            reverse("coordination:referral", args=[referral.public_id]), self.accept(referral, member, room, start)
        )
        assert response.status_code == 200
        errors = response.context["contact"].non_field_errors()
        assert any(member.get_full_name() in error for error in errors), errors
        referral.refresh_from_db()
        assert referral.status == "received" and referral.enrolment is None
        assert not Enrolment.objects.filter(patient=referral.patient).exists()
        assert not Task.objects.filter(referral=referral).exists()
        assert not Appointment.objects.filter(patient=referral.patient).exists()

    def test_without_the_tick_nothing_is_booked(self, coordinator, member, referral, room):
        fields = self.accept(referral, member, room, at(6))
        del fields["book_first_contact"]
        client_for(coordinator).post(reverse("coordination:referral", args=[referral.public_id]), fields)
        referral.refresh_from_db()
        assert referral.status == "accepted"
        assert not Appointment.objects.filter(patient=referral.patient).exists()

    def test_a_course_programme_offers_add_to_a_course(self, coordinator, member, referral, room):
        programme = Programme.objects.get(code="diabetes-course")
        Course.objects.create(
            name="Diabetesskole",
            programme=programme,
            team=referral.team,
            room=room,
            weekday=1,
            starts_at=datetime.time(10),
            ends_at=datetime.time(12),
            first_day=timezone.localdate(),
            session_count=8,
            created_by=coordinator,
        )
        fields = self.accept(referral, member, room, at(6), programme="diabetes-course")
        del fields["book_first_contact"]
        response = client_for(coordinator).post(
            reverse("coordination:referral", args=[referral.public_id]), fields, follow=True
        )
        link = f"{reverse('scheduling:courses')}?citizen={referral.patient.public_id}"
        assert link in response.content.decode()
        assert Referral.objects.get(pk=referral.pk).status == "accepted"

    def test_another_teams_course_of_the_programme_offers_none(self, coordinator, member, referral, room):
        # A course takes only its own team's citizens: another team's course is no place for them.
        Course.objects.create(
            name="Diabetesskole, Syd",
            programme=Programme.objects.get(code="diabetes-course"),
            team=TeamFactory(),
            room=room,
            weekday=1,
            starts_at=datetime.time(10),
            ends_at=datetime.time(12),
            first_day=timezone.localdate(),
            session_count=8,
            created_by=coordinator,
        )
        fields = self.accept(referral, member, room, at(6), programme="diabetes-course")
        del fields["book_first_contact"]
        client_for(coordinator).post(reverse("coordination:referral", args=[referral.public_id]), fields)
        assert Referral.objects.get(pk=referral.pk).status == "accepted"
        page = client_for(coordinator).get(reverse("coordination:referral", args=[referral.public_id]))
        assert 'data-testid="add-to-course"' not in page.content.decode()

    def test_a_follow_up_programme_without_courses_offers_none(self, coordinator, member, referral, room):
        fields = self.accept(referral, member, room, at(6))
        del fields["book_first_contact"]
        client_for(coordinator).post(reverse("coordination:referral", args=[referral.public_id]), fields)
        page = client_for(coordinator).get(reverse("coordination:referral", args=[referral.public_id]))
        assert 'data-testid="add-to-course"' not in page.content.decode()


@pytest.mark.django_db
class TestQueryBudgets:
    def citizens(self, count, *, team, member, rule, room, appointments_each):
        """Citizens each with a booked gap and more appointments to come."""
        for i in range(count):
            patient = PatientFactory(team=team, responsible_professional=member)
            gap = CareGap.objects.create(patient=patient, rule=rule)
            person = UserFactory(teams=[team])
            for k in range(appointments_each):
                appointment = AppointmentFactory(
                    patient=patient, starts_at=at(2 + k, hour=8 + i % 8), professionals=[person]
                )
                if k == 0:
                    CareGap.objects.filter(pk=gap.pk).update(appointment=appointment)

    def test_the_worklist_reads_as_much_for_twenty_citizens_as_for_one(
        self, as_member, member, team, rule, room, django_assert_max_num_queries
    ):
        url = reverse("coordination:worklist")
        self.citizens(1, team=team, member=member, rule=rule, room=room, appointments_each=1)
        with django_assert_max_num_queries(20) as small:
            as_member.get(url)
        self.citizens(19, team=team, member=member, rule=rule, room=room, appointments_each=4)
        with django_assert_max_num_queries(len(small)):
            response = as_member.get(url)
        rows = response.context["page"].object_list
        assert len(rows) == 20 and all(r.gaps[0].booked_day and r.next_appointment for r in rows)

    def test_the_briefing_reads_as_much_with_many_appointments_as_with_one(
        self, as_member, member, patient, gap, room, django_assert_max_num_queries
    ):
        url = reverse("coordination:briefing", args=[patient.public_id])
        services.care_gap_book(actor=member, gap=gap, data=data(at(2), [member], room))
        with django_assert_max_num_queries(40) as small:
            as_member.get(url)
        for k in range(10):
            AppointmentFactory(patient=patient, starts_at=at(3 + k), professionals=[UserFactory(teams=[patient.team])])
        with django_assert_max_num_queries(len(small)):
            as_member.get(url)
