"""Good stories through their services and pages: what reaches the manager is pseudonymised, checked
again on submit and on approval, returned stories reach their author, drafts stay with the author,
and every read of a story is in the citizen's access log."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from healthcenter.models import AccessLog
from patients.models import Consent, Relative
from reporting.models import Story, StoryStatus
from reporting.stories import approved_stories, story_approve, story_create, story_return, story_submit

from .conftest import client_for
from .factories import EncounterFactory, MeasurementFactory, UserFactory


@pytest.fixture
def consenting(patient, member):
    """Karen Jensen of Birkevej 12, 8000 Aarhus C, with her daughter Hanne and her husband Jens."""
    patient.address = "Birkevej 12, 1. th."
    patient.postal_code = "8000"
    patient.city = "Aarhus C"
    patient.phone = "12345678"
    patient.email = "karen.j@example.dk"
    patient.gp_name = "Mogens Vestergaard"
    patient.gp_phone = "86 12 12 12"
    patient.save()
    Relative.objects.create(patient=patient, name="Hanne Jensen", relation="datter", phone="+45 87 65 43 21")
    Relative.objects.create(patient=patient, name="Jens Jensen", relation="ægtefælle")
    Consent.objects.create(
        patient=patient, kind="story_reports", given_on=timezone.localdate(), given_by="x", recorded_by=member
    )
    return patient


@pytest.fixture
def colleague_soeren(team):
    return UserFactory(username="soeren", first_name="Søren", last_name="Kjær", teams=[team])


def write(member, patient, *, title="Karen går igen", happened="Karen Jensen kunne ikke gå til købmanden.") -> Story:
    return story_create(
        actor=member,
        patient=patient,
        title=title,
        what_happened=happened,
        what_made_the_difference="Gåturene med naboen.",
    )


def submitted(member, patient, **kwargs) -> Story:
    story = write(member, patient, **kwargs)
    return story_submit(
        actor=member,
        story=story,
        expected_version=story.version,
        title=story.title,
        published_text=story.published_text,
        show_chart=False,
    )


@pytest.mark.django_db
class TestTheProposal:
    @pytest.mark.parametrize(
        "detail",
        [
            "120356 1234",
            "1203561234",
            "Birkevej",
            "Birkevej 12",
            "8000",
            "Aarhus",
            "12 34 56 78",
            "1234 5678",
            "+45 12345678",
            "+4512345678",
            "0045 12345678",
            "+45 23456789",
            "+4523456789",
            "0045 23 45 67 89",
            "23.45.67.89",
            "23-45-67-89",
            "87 65 43 21",
            "86121212",
            "karen.j@example.dk",
            "hanne.jensen@gmail.com",
            "familien@postkasse.dk",
            "Hanne",
            "Hannes",
            "Jens'",
            "Karens",
            "Søren",
            "Sørens",
            "Kjær",
            "Mogens Vestergaard",
            "Vestergaards",
            "3/4",
            "juni 2024",
            "3. juni",
            "12. marts 2025",
            "12.03.2025",
            "2025-03-12",
            "mandag den 3. juni",
        ],
    )
    def test_no_identifying_detail_reaches_the_proposal(self, member, consenting, colleague_soeren, detail):
        story = write(member, consenting, happened=f"Karen fortalte om {detail}, og det hjalp.")
        assert detail not in story.published_text
        assert "hjalp" in story.published_text

    def test_an_exact_age_becomes_a_five_year_band(self, member, consenting):
        story = write(member, consenting, happened="Hun er 82 år og bor alene.")
        assert "80-84 år" in story.published_text
        assert "82" not in story.published_text

    def test_the_title_is_pseudonymised_too(self, member, consenting):
        story = write(member, consenting, title="Hannes mor går igen")
        assert story.title == "Den pårørendes mor går igen"

    @pytest.mark.parametrize("town", ["Kerteminde", "Odense", "Munkebo", "Aarhus", "Århus", "København", "Sønderborg"])
    def test_no_town_reaches_the_proposal_the_citizens_or_another(self, member, consenting, town):
        story = write(member, consenting, title=f"Fra {town} og hjem", happened=f"Hun bor i {town}. Det hjalp.")
        assert town not in story.title and town not in story.published_text
        assert story.published_text.startswith("Hun bor i [sted]. Det hjalp.")

    def test_a_relatives_full_name_is_one_relative(self, member, consenting):
        Relative.objects.create(patient=consenting, name="Helle Marie Mathiasen", relation="søster")
        story = write(member, consenting, happened="Karen Jensen fik hjælp af Helle Mathiasen hver dag.")
        assert story.published_text.startswith("Borgeren fik hjælp af den pårørende hver dag.")

    def test_a_sentence_begins_with_a_capital_letter(self, member, consenting):
        story = write(member, consenting, title="karen går igen", happened="Det var svært. karen fandt modet igen.")
        assert story.title == "Borgeren går igen"
        assert story.published_text.startswith("Det var svært. Borgeren fandt modet igen.")

    def test_a_form_of_address_in_a_relatives_name_is_not_a_name(self, member, consenting):
        Relative.objects.create(patient=consenting, name="Fru Lise Holm", relation="nabo")
        story = write(member, consenting, happened="Hun ringede til fru Lise Holm og hr. Berg. Fru Holm kom.")
        assert story.published_text.startswith("Hun ringede til den pårørende og hr. Berg. Den pårørende kom.")

    def test_ordinary_words_are_kept_when_staff_have_names_like_them(self, member, consenting):
        UserFactory(first_name="Per", last_name="Skov")
        UserFactory(first_name="Bo", last_name="Lund")
        UserFactory(first_name="Hans", last_name="Holm")
        happened = "Hun ville bo hjemme, gå i skov og lund 2 gange per uge; hans kone kom i 3 år, boligen var god."
        assert write(member, consenting, happened=happened).published_text.startswith(happened)


@pytest.mark.django_db
class TestTheChecks:
    def test_the_author_cannot_submit_a_text_that_names_someone(self, member, consenting):
        story = write(member, consenting)
        with pytest.raises(ValidationError) as raised:
            story_submit(
                actor=member,
                story=story,
                expected_version=1,
                title=story.title,
                published_text="Datteren Hanne ringede på 12 34 56 78 den 3/4.",
                show_chart=False,
            )
        assert "published_text" in raised.value.error_dict
        story.refresh_from_db()
        assert story.status == StoryStatus.DRAFT

    @pytest.mark.parametrize(
        ("text", "town"),
        [
            ("Hun bor i Kerteminde.", "Kerteminde"),
            ("Hun bor i Odense.", "Odense"),
            ("Hun flyttede til Vejen.", "Vejen"),
        ],
    )
    def test_the_author_cannot_submit_a_text_that_names_any_town(self, member, consenting, text, town):
        story = write(member, consenting)
        with pytest.raises(ValidationError) as raised:
            story_submit(
                actor=member,
                story=story,
                expected_version=1,
                title=story.title,
                published_text=text,
                show_chart=False,
            )
        assert f"“{town}”" in str(raised.value.error_dict["published_text"])
        story.refresh_from_db()
        assert story.status == StoryStatus.DRAFT

    def test_the_author_cannot_submit_a_title_with_a_date(self, member, consenting):
        story = write(member, consenting)
        with pytest.raises(ValidationError) as raised:
            story_submit(
                actor=member,
                story=story,
                expected_version=1,
                title="Juni 2024 var vendepunktet",
                published_text=story.published_text,
                show_chart=False,
            )
        assert "title" in raised.value.error_dict

    def test_the_manager_cannot_approve_a_story_that_has_become_identifying(self, member, manager, consenting):
        story = submitted(member, consenting, happened="Borgeren fik hjælp af Lise.")
        # Lise becomes a registered relative after the story was submitted.
        Relative.objects.create(patient=consenting, name="Lise Holm", relation="nabo")
        with pytest.raises(ValidationError):
            story_approve(actor=manager, story=story, expected_version=story.version)
        story.refresh_from_db()
        assert story.status == StoryStatus.SUBMITTED
        assert list(approved_stories()) == []

    def test_the_edit_page_shows_the_author_what_still_identifies(self, as_member, member, consenting):
        story = write(member, consenting)
        response = as_member.post(
            reverse("reporting:story_edit", args=[story.public_id]),
            {"version": 1, "title": story.title, "published_text": "Datteren Hanne hjalp.", "show_chart": ""},
        )
        assert response.status_code == 200
        body = response.content.decode()
        assert '<mark data-kind="name">Hanne</mark>' in body
        assert 'data-testid="identifying-details"' in body
        story.refresh_from_db()
        assert story.status == StoryStatus.DRAFT

    def test_the_manager_is_told_to_return_a_story_that_still_identifies(self, manager, member, consenting):
        story = submitted(member, consenting, happened="Borgeren fik hjælp af Lise.")
        Relative.objects.create(patient=consenting, name="Lise Holm", relation="nabo")
        url = reverse("reporting:story_review", args=[story.public_id])
        as_manager = client_for(manager)
        page = as_manager.get(url).content.decode()
        assert "Lise" not in page
        assert 'data-testid="still-identifying"' in page
        response = as_manager.post(url, {"version": story.version, "comment": "", "approve": "1"})
        assert response.status_code == 200
        assert 'data-testid="still-identifying"' in response.content.decode()
        story.refresh_from_db()
        assert story.status == StoryStatus.SUBMITTED


@pytest.mark.django_db
class TestTheWorkflow:
    def test_a_story_needs_the_citizens_consent(self, member, patient):
        with pytest.raises(ValidationError):
            write(member, patient)
        assert not Story.objects.exists()

    def test_outsiders_cannot_write_a_story_about_the_citizen(self, as_outsider, consenting):
        response = as_outsider.get(reverse("reporting:story_create", args=[consenting.public_id]))
        assert response.status_code == 404

    def test_the_author_writes_and_submits_through_the_pages(self, as_member, member, consenting):
        response = as_member.post(
            reverse("reporting:story_create", args=[consenting.public_id]),
            {"title": "Karen går igen", "what_happened": "Karen kunne ikke gå.", "what_made_the_difference": "Ture."},
        )
        story = Story.objects.get(author=member)
        assert response.url == reverse("reporting:story_edit", args=[story.public_id])
        assert story.published_text == "Borgeren kunne ikke gå.\n\nTure."
        as_member.post(
            reverse("reporting:story_edit", args=[story.public_id]),
            {"version": 1, "title": story.title, "published_text": story.published_text, "show_chart": "on"},
        )
        story.refresh_from_db()
        assert (story.status, story.show_chart) == (StoryStatus.SUBMITTED, True)

    def test_from_draft_to_approved_and_withdrawn_with_the_consent(self, member, manager, consenting):
        story = submitted(member, consenting)
        story_approve(actor=manager, story=story, expected_version=story.version)
        assert list(approved_stories()) == [story]
        Consent.objects.filter(patient=consenting).update(withdrawn_on=timezone.localdate(), withdrawn_by="x")
        assert list(approved_stories()) == []

    def test_showing_approved_stories_on_the_dashboard_is_logged_under_the_citizen(self, member, manager, consenting):
        story = submitted(member, consenting)
        story_approve(actor=manager, story=story, expected_version=story.version)
        logged = AccessLog.objects.filter(
            patient_public_id=consenting.public_id, user=manager, what="good story (pseudonymised) in a report"
        )
        client_for(manager).get(reverse("reporting:overview"))
        assert logged.count() == 1

    def test_returning_needs_a_comment_and_only_managers_decide(self, member, manager, consenting):
        story = submitted(member, consenting)
        with pytest.raises(ValidationError):
            story_return(actor=manager, story=story, expected_version=2, comment="")
        with pytest.raises(ValidationError):
            story_approve(actor=member, story=story, expected_version=2)
        story_return(actor=manager, story=story, expected_version=2, comment="Gør slutningen kortere")
        story.refresh_from_db()
        assert (story.status, story.manager_comment) == ("returned", "Gør slutningen kortere")


@pytest.mark.django_db
class TestReturnedStoriesReachTheirAuthor:
    @pytest.fixture
    def returned(self, member, manager, consenting):
        story = submitted(member, consenting)
        return story_return(
            actor=manager, story=story, expected_version=story.version, comment="Gør slutningen kortere"
        )

    def test_new_for_you_shows_the_returned_story_with_the_comment(self, as_member, returned):
        body = as_member.get(reverse("coordination:news")).content.decode()
        assert 'data-testid="returned-story"' in body
        assert "Gør slutningen kortere" in body
        assert reverse("reporting:story_edit", args=[returned.public_id]) in body

    def test_the_badge_counts_the_returned_story(self, as_member, returned):
        badge = as_member.get(reverse("coordination:news_badge")).content.decode()
        assert ">1<" in badge

    def test_a_colleague_is_not_told_about_it(self, as_colleague, returned):
        assert 'data-testid="returned-story"' not in as_colleague.get(reverse("coordination:news")).content.decode()
        assert 'data-testid="news-count"' not in as_colleague.get(reverse("coordination:news_badge")).content.decode()

    def test_resubmitting_takes_it_off_the_list(self, as_member, member, returned):
        story_submit(
            actor=member,
            story=returned,
            expected_version=returned.version,
            title=returned.title,
            published_text="Borgeren gik igen.",
            show_chart=False,
        )
        assert 'data-testid="returned-story"' not in as_member.get(reverse("coordination:news")).content.decode()

    def test_my_stories_lists_every_story_of_the_author_with_its_status(self, as_member, member, consenting, returned):
        write(member, consenting, title="En kladde")
        response = as_member.get(reverse("reporting:my_stories"))
        body = response.content.decode()
        assert response.status_code == 200
        assert "En kladde" in body and "Kladde" in body
        assert "Sendt retur til forfatteren" in body and "Gør slutningen kortere" in body

    def test_an_author_who_left_the_team_keeps_the_story_but_not_the_citizen(self, as_member, member, returned):
        member.teams.clear()
        body = as_member.get(reverse("reporting:my_stories")).content.decode()
        assert returned.title in body
        assert "Karen" not in body.split("<main", 1)[1]
        assert reverse("reporting:story_edit", args=[returned.public_id]) not in body
        assert 'data-testid="returned-story"' not in as_member.get(reverse("coordination:news")).content.decode()

    def test_the_citizens_page_lists_the_authors_stories(self, as_member, as_colleague, consenting, returned):
        url = reverse("patients:detail", args=[consenting.public_id])
        body = as_member.get(url).content.decode()
        assert 'data-testid="citizen-story"' in body
        assert reverse("reporting:story_edit", args=[returned.public_id]) in body
        assert 'data-testid="citizen-story"' not in as_colleague.get(url).content.decode()

    def test_my_stories_is_linked_for_professionals(self, as_member):
        assert reverse("reporting:my_stories") in as_member.get(reverse("coordination:news")).content.decode()


@pytest.mark.django_db
class TestWhatTheManagerSees:
    def test_a_draft_is_not_found(self, manager, member, consenting):
        story = write(member, consenting)
        assert client_for(manager).get(reverse("reporting:story_review", args=[story.public_id])).status_code == 404

    def test_a_returned_story_is_not_found(self, manager, member, consenting):
        story = submitted(member, consenting)
        story_return(actor=manager, story=story, expected_version=story.version, comment="Kortere")
        assert client_for(manager).get(reverse("reporting:story_review", args=[story.public_id])).status_code == 404

    def test_an_approved_story_is_read_only(self, manager, member, consenting):
        story = submitted(member, consenting)
        story_approve(actor=manager, story=story, expected_version=story.version)
        url = reverse("reporting:story_review", args=[story.public_id])
        as_manager = client_for(manager)
        page = as_manager.get(url)
        assert page.status_code == 200
        assert 'name="approve"' not in page.content.decode()
        as_manager.post(url, {"version": story.version, "comment": "Kortere", "return": "1"})
        story.refresh_from_db()
        assert story.status == StoryStatus.APPROVED

    def test_the_manager_reviews_without_seeing_who_it_is(self, member, manager, consenting):
        story = submitted(member, consenting)
        body = client_for(manager).get(reverse("reporting:story_review", args=[story.public_id])).content.decode()
        assert "Jensen" not in body and "Karen" not in body
        assert consenting.cpr_formatted not in body

    def test_the_managers_read_is_logged_under_the_citizen(self, member, manager, consenting):
        story = submitted(member, consenting)
        client_for(manager).get(reverse("reporting:story_review", args=[story.public_id]))
        entry = AccessLog.objects.get(user=manager)
        assert (entry.patient_public_id, entry.action, entry.outcome) == (consenting.public_id, "view", "allowed")
        assert entry.what == "good story (pseudonymised)"

    def test_the_authors_read_is_logged_under_the_citizen(self, as_member, member, consenting):
        story = write(member, consenting)
        as_member.get(reverse("reporting:story_edit", args=[story.public_id]))
        assert AccessLog.objects.filter(user=member, patient_public_id=consenting.public_id, action="view").exists()

    def test_the_chart_shows_only_values_that_count_and_only_when_chosen(self, member, manager, consenting):
        now = timezone.now()
        MeasurementFactory(patient=consenting, value=Decimal(80), measured_at=now - datetime.timedelta(days=200))
        MeasurementFactory(
            patient=consenting, value=Decimal(70), measured_at=now - datetime.timedelta(days=100), source="lab"
        )
        draft = EncounterFactory(patient=consenting, professional=member, signed_at=None)
        MeasurementFactory(patient=consenting, value=Decimal(99), source="encounter", encounter=draft)
        signed = EncounterFactory(patient=consenting, professional=member)
        MeasurementFactory(patient=consenting, value=Decimal(60), source="encounter", encounter=signed)
        story = write(member, consenting)
        story_submit(
            actor=member,
            story=story,
            expected_version=1,
            title=story.title,
            published_text=story.published_text,
            show_chart=True,
        )
        chart = client_for(manager).get(reverse("reporting:story_review", args=[story.public_id])).context["chart"]
        assert chart["data"][0]["y"] == [80.0, 70.0, 60.0]
        assert "measured_at" not in str(chart) and str(now.year) not in str(chart)

    def test_no_chart_unless_the_author_chose_it(self, member, manager, consenting):
        MeasurementFactory(patient=consenting, value=Decimal(80))
        story = submitted(member, consenting)
        assert (
            client_for(manager).get(reverse("reporting:story_review", args=[story.public_id])).context["chart"] is None
        )
