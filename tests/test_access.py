"""The care relation: team members and colleagues in the team reach a citizen; everyone else
gets 404, and every attempt is in the access log."""

import pytest
from django.urls import reverse

from coordination.models import HandoverNote, Referral
from healthcenter.models import AccessLog
from patients.models import Patient

from .conftest import client_for
from .factories import (
    EncounterFactory,
    PatientFactory,
    ReferralFactory,
    StoryFactory,
    TaskFactory,
    UserFactory,
    valid_cpr,
)


def patient_pages(patient, encounter):
    return [
        reverse("patients:detail", args=[patient.public_id]),
        reverse("patients:edit", args=[patient.public_id]),
        reverse("patients:history", args=[patient.public_id]),
        reverse("patients:access_log", args=[patient.public_id]),
        reverse("coordination:encounter_create", args=[patient.public_id]),
        reverse("patients:goal_create", args=[patient.public_id]),
        reverse("patients:relative_add", args=[patient.public_id]),
        reverse("patients:consent_give", args=[patient.public_id]),
        reverse("patients:condition_add", args=[patient.public_id]),
        reverse("patients:enrolment_create", args=[patient.public_id]),
        reverse("patients:measurement_add", args=[patient.public_id]),
        reverse("patients:encounter_amend", args=[encounter.public_id]),
        reverse("patients:timeline", args=[patient.public_id]) + f"?after={encounter.public_id}",
    ]


@pytest.fixture
def encounter(patient, member):
    return EncounterFactory(patient=patient, professional=member)


@pytest.mark.django_db
class TestPersonas:
    def test_it_shows_every_patient_page_to_the_team_member(self, as_member, patient, encounter):
        for url in patient_pages(patient, encounter):
            assert as_member.get(url).status_code == 200, url

    def test_it_shows_every_patient_page_to_a_colleague_in_the_team(self, as_colleague, patient, encounter):
        for url in patient_pages(patient, encounter):
            assert as_colleague.get(url).status_code == 200, url

    def test_it_rejects_outsider_with_404_on_every_page(self, as_outsider, outsider, patient, encounter):
        for url in patient_pages(patient, encounter):
            assert as_outsider.get(url).status_code == 404, url
        denied = AccessLog.objects.filter(user=outsider, outcome="denied")
        assert denied.count() == len(patient_pages(patient, encounter))

    def test_it_rejects_outsider_posting_to_a_patient(self, as_outsider, patient):
        url = reverse("coordination:encounter_create", args=[patient.public_id])
        response = as_outsider.post(url, {"kind": "phone", "note": "x"})
        assert response.status_code == 404
        assert not patient.encounters.exists()

    def test_it_hides_clinical_pages_from_managers(self, manager, patient, encounter):
        client = client_for(manager)
        for url in [*patient_pages(patient, encounter), reverse("patients:list")]:
            assert client.get(url).status_code == 404, url

    def test_it_hides_clinical_pages_from_administrators(self, administrator, patient, encounter):
        client = client_for(administrator)
        assert client.get(reverse("patients:detail", args=[patient.public_id])).status_code == 404

    def test_it_answers_an_unknown_id_like_a_forbidden_one(self, as_member):
        response = as_member.get(reverse("patients:detail", args=["00000000-0000-0000-0000-000000000000"]))
        assert response.status_code == 404

    def test_it_sends_anonymous_users_to_login(self, client, patient):
        response = client.get(reverse("patients:detail", args=[patient.public_id]))
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]

    def test_outsider_does_not_find_citizens_of_other_teams_in_search(self, as_outsider, patient):
        response = as_outsider.post(reverse("patients:list"), {"term": "Karen"}, follow=True)
        assert response.status_code == 200
        assert "Jensen" not in response.content.decode()
        assert response.context["page"].paginator.count == 0

    def test_a_coordinator_reaches_citizens_of_their_team(self, coordinator, patient):
        client = client_for(coordinator)
        assert client.get(reverse("patients:detail", args=[patient.public_id])).status_code == 200


@pytest.mark.django_db
class TestAccessLog:
    def test_it_logs_a_view_of_the_patient_page(self, as_member, member, patient):
        as_member.get(reverse("patients:detail", args=[patient.public_id]))
        entry = AccessLog.objects.get(patient_public_id=patient.public_id)
        assert (entry.user, entry.role, entry.action, entry.outcome) == (member, "professional", "view", "allowed")
        assert entry.what == "citizen page"

    def test_a_search_writes_its_criterion_not_a_row_per_hit(self, as_member, member, team):
        PatientFactory.create_batch(7, team=team, last_name="Hansen")
        as_member.post(reverse("patients:list"), {"term": "hansen"})
        as_member.get(reverse("patients:list"))
        rows = AccessLog.objects.filter(user=member)
        assert rows.count() == 1
        entry = rows.get()
        assert entry.action == "search"
        assert "hansen" in entry.what
        assert entry.patient_public_id is None

    def test_the_patient_page_shows_who_viewed_the_record(self, as_member, as_colleague, colleague, patient):
        as_colleague.get(reverse("patients:detail", args=[patient.public_id]))
        response = as_member.get(reverse("patients:detail", args=[patient.public_id]))
        assert str(colleague) in response.content.decode()

    def test_the_log_cannot_be_changed_or_deleted(self, as_member, patient):
        from django.db import ProgrammingError, transaction

        as_member.get(reverse("patients:detail", args=[patient.public_id]))
        entry = AccessLog.objects.get(patient_public_id=patient.public_id)
        with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
            AccessLog.objects.filter(pk=entry.pk).update(what="tampered")
        with pytest.raises(ProgrammingError, match="Cannot update or delete"), transaction.atomic():
            AccessLog.objects.filter(pk=entry.pk).delete()
        assert AccessLog.objects.get(pk=entry.pk).what == "citizen page"

    def test_an_administrator_exports_one_citizens_access_log(self, administrator, as_member, patient):
        as_member.get(reverse("patients:detail", args=[patient.public_id]))
        client = client_for(administrator)
        response = client.post(reverse("patients:access_log_export"), {"cpr": patient.cpr_formatted})
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert response.content.startswith("\ufeff".encode())  # a spreadsheet reads æøå as UTF-8
        lines = response.content.decode("utf-8-sig").strip().splitlines()
        assert lines[0] == "Tidspunkt;Brugernavn;Navn;Rolle;Handling;Hvad;Resultat"
        assert any("member" in line and "borgerens side" in line and "Tilladt" in line for line in lines[1:])
        assert AccessLog.objects.filter(
            user=administrator, action="export", patient_public_id=patient.public_id
        ).exists()

    def test_the_export_refuses_other_roles(self, as_member, patient):
        response = as_member.post(reverse("patients:access_log_export"), {"cpr": patient.cpr})
        assert response.status_code == 404

    def test_the_export_says_when_no_citizen_has_the_number(self, administrator):
        client = client_for(administrator)
        response = client.post(reverse("patients:access_log_export"), {"cpr": "010150-1234"})
        assert response.status_code == 200
        assert response.context["form"].errors["cpr"] == ["Der er ingen borger registreret med dette CPR-nummer."]


@pytest.mark.django_db
class TestProbing:
    def test_a_refused_encounter_is_logged_under_its_citizen(self, as_outsider, outsider, patient, encounter):
        as_outsider.get(reverse("patients:encounter_amend", args=[encounter.public_id]))
        entry = AccessLog.objects.get(user=outsider)
        assert (entry.patient_public_id, entry.outcome) == (patient.public_id, "denied")

    def test_registering_another_teams_citizen_is_logged_under_that_citizen(
        self, as_outsider, outsider, other_team, patient
    ):
        as_outsider.post(
            reverse("coordination:citizen_register"),
            {"cpr": patient.cpr, "first_name": "X", "last_name": "Y", "team": other_team.id, "status": "active"},
        )
        entry = AccessLog.objects.get(user=outsider, patient_public_id=patient.public_id)
        assert (entry.action, entry.what) == ("create", "registration forwarded to the citizen's team as a referral")

    def test_patient_pages_are_not_cached_by_the_browser(self, as_member, patient):
        response = as_member.get(reverse("patients:detail", args=[patient.public_id]))
        assert "no-store" in response["Cache-Control"]


# --- issue 10: one access layer ------------------------------------------------------------------------------


def denied_rows(user):
    return AccessLog.objects.filter(user=user, outcome="denied")


@pytest.mark.django_db
class TestRefusalsAreLoggedUnderTheCitizen:
    """The access layer finds the citizen before it refuses: the citizen's own log shows who was
    turned away, whatever the role and whatever the record the URL names."""

    @pytest.mark.parametrize("persona", ["manager", "administrator"])
    def test_a_refused_citizen_page_is_logged_under_the_citizen_for_every_role(self, request, persona, patient):
        user = request.getfixturevalue(persona)
        response = client_for(user).get(reverse("patients:detail", args=[patient.public_id]))
        assert response.status_code == 404
        entry = AccessLog.objects.get(user=user)
        assert (entry.patient_public_id, entry.outcome, entry.what) == (patient.public_id, "denied", "citizen page")

    def test_every_page_of_a_citizen_refuses_a_manager_under_the_citizen(self, manager, patient, encounter):
        client = client_for(manager)
        for url in patient_pages(patient, encounter):
            assert client.get(url).status_code == 404, url
        rows = denied_rows(manager)
        assert rows.count() == len(patient_pages(patient, encounter))
        assert set(rows.values_list("patient_public_id", flat=True)) == {patient.public_id}

    def test_refused_tasks_referrals_and_handover_notes_are_logged_under_their_citizen(
        self, as_outsider, outsider, patient, member
    ):
        task = TaskFactory(team=patient.team, patient=patient)
        referral = ReferralFactory(patient=patient)
        note = HandoverNote.objects.create(patient=patient, author=member, text="Datteren ringede")
        attempts = [
            as_outsider.get(reverse("coordination:task", args=[task.public_id])),
            as_outsider.post(reverse("coordination:task_comment", args=[task.public_id]), {"text": "x"}),
            as_outsider.get(reverse("coordination:referral", args=[referral.public_id])),
            as_outsider.post(reverse("coordination:handover_acknowledge", args=[note.public_id])),
        ]
        assert [response.status_code for response in attempts] == [404] * 4
        rows = denied_rows(outsider)
        assert rows.count() == 4
        assert set(rows.values_list("patient_public_id", flat=True)) == {patient.public_id}
        assert not task.comments.exists() and not note.acknowledgements.exists()

    def test_a_refused_task_about_no_citizen_is_still_logged(self, as_outsider, outsider, team):
        task = TaskFactory(team=team)
        assert as_outsider.get(reverse("coordination:task", args=[task.public_id])).status_code == 404
        entry = denied_rows(outsider).get()
        assert entry.patient_public_id is None

    def test_a_refused_triage_is_one_denied_row_and_changes_nothing(self, as_member, member, patient):
        referral = ReferralFactory(patient=patient)
        response = as_member.post(
            reverse("coordination:referral", args=[referral.public_id]), {"decline": "1", "reason": "Nej"}
        )
        assert response.status_code == 404
        entry = AccessLog.objects.get(user=member)
        assert (entry.action, entry.outcome, entry.patient_public_id) == ("update", "denied", patient.public_id)
        referral.refresh_from_db()
        assert referral.status == "received"

    def test_the_team_coordinator_still_triages(self, coordinator, patient):
        referral = ReferralFactory(patient=patient)
        response = client_for(coordinator).post(
            reverse("coordination:referral", args=[referral.public_id]), {"decline": "1", "reason": "Ikke nu"}
        )
        assert response.status_code == 302
        referral.refresh_from_db()
        assert referral.status == "declined"
        assert AccessLog.objects.get(user=coordinator).outcome == "allowed"

    def test_a_cpr_search_is_logged_under_the_citizen_found_whether_shown_or_not(
        self, as_outsider, outsider, as_member, member, patient
    ):
        as_outsider.post(reverse("patients:list"), {"term": patient.cpr_formatted}, follow=True)
        refused = AccessLog.objects.get(user=outsider)
        assert (refused.action, refused.outcome, refused.patient_public_id) == ("search", "denied", patient.public_id)
        response = as_member.post(reverse("patients:list"), {"term": patient.cpr}, follow=True)
        assert response.context["page"].paginator.count == 1
        allowed = AccessLog.objects.get(user=member)
        assert (allowed.action, allowed.outcome, allowed.patient_public_id) == ("search", "allowed", patient.public_id)

    def test_a_cpr_search_for_a_number_nobody_has_logs_the_criterion(self, as_member, member, patient):
        as_member.post(reverse("patients:list"), {"term": "010150-1234"}, follow=True)
        entry = AccessLog.objects.get(user=member)
        assert entry.patient_public_id is None
        assert "0101501234" in entry.what or "010150-1234" in entry.what

    def test_an_access_log_export_for_an_unknown_cpr_is_logged(self, administrator):
        client_for(administrator).post(reverse("patients:access_log_export"), {"cpr": "010150-1234"})
        entry = AccessLog.objects.get(user=administrator)
        assert (entry.action, entry.outcome, entry.patient_public_id) == ("export", "rejected", None)

    def test_a_story_someone_else_wrote_is_refused_under_its_citizen(self, as_colleague, colleague, patient, member):
        story = StoryFactory(patient=patient, author=member)
        response = as_colleague.get(reverse("reporting:story_edit", args=[story.public_id]))
        assert response.status_code == 404
        entry = denied_rows(colleague).get()
        assert entry.patient_public_id == patient.public_id

    def test_a_professional_opening_a_story_review_is_refused_under_its_citizen(self, as_member, member, patient):
        story = StoryFactory(patient=patient, author=member, status="submitted")
        assert as_member.get(reverse("reporting:story_review", args=[story.public_id])).status_code == 404
        assert denied_rows(member).get().patient_public_id == patient.public_id

    def test_a_role_refused_on_a_page_without_a_citizen_is_logged_too(self, as_member, member):
        assert as_member.get(reverse("reporting:overview")).status_code == 404
        entry = denied_rows(member).get()
        assert (entry.patient_public_id, entry.what) == (None, reverse("reporting:overview"))


ROLE_TABLE = [
    # (URL name, args, who may) -- the figures are the managers' and the coordinators' (the lead's decision)
    ("reporting:overview", [], {"manager", "coordinator"}),
    ("reporting:export", ["csv"], {"manager", "coordinator"}),
    ("reporting:export", ["xlsx"], {"manager", "coordinator"}),
    ("reporting:quarterly", [], {"manager", "coordinator"}),
    ("reporting:stories", [], {"manager"}),
    ("coordination:referral_create", [], {"coordinator"}),
    ("patients:list", [], {"member", "coordinator"}),
    ("patients:access_log_export", [], {"administrator"}),
]


@pytest.mark.django_db
class TestTheRoleTable:
    @pytest.mark.parametrize(("name", "args", "allowed"), ROLE_TABLE)
    @pytest.mark.parametrize("persona", ["member", "coordinator", "manager", "administrator"])
    def test_each_role_reaches_exactly_its_own_pages(self, request, persona, name, args, allowed):
        client = client_for(request.getfixturevalue(persona))
        expected = 200 if persona in allowed else 404
        assert client.get(reverse(name, args=args)).status_code == expected

    @pytest.mark.parametrize(("name", "args"), [(name, args) for name, args, _allowed in ROLE_TABLE])
    def test_anonymous_users_are_sent_to_login(self, client, name, args):
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))

    def test_the_coordinators_menu_has_the_dashboard_and_a_professionals_does_not(self, coordinator, as_member):
        overview = reverse("reporting:overview")
        assert f'href="{overview}"' in client_for(coordinator).get(reverse("coordination:my_tasks")).content.decode()
        assert f'href="{overview}"' not in as_member.get(reverse("coordination:my_tasks")).content.decode()


@pytest.mark.django_db
class TestOneAccessLayer:
    """Every access decision and every log row is written by healthcenter/access.py."""

    APPS = ["patients", "coordination", "reporting", "healthcenter"]

    def sources(self):
        import pathlib

        root = pathlib.Path(__file__).resolve().parent.parent
        for app in self.APPS:
            for path in (root / app).rglob("*.py"):
                # The demo builds users of each role; it compares roles to decide whom to create.
                if "migrations" not in path.parts and path.name != "demo.py":
                    yield path.relative_to(root).as_posix(), path.read_text()

    def test_only_the_access_layer_writes_access_log_rows(self):
        import re

        writers = re.compile(r"(?<!class )AccessLog\(|AccessLog\.objects\.(create|bulk_create|get_or_create)")
        assert [path for path, text in self.sources() if writers.search(text)] == ["healthcenter/access.py"]

    def test_no_view_writes_a_log_row_or_checks_a_role_itself(self):
        import re

        forbidden = re.compile(r"access\.record|access_record|\.role\s*(==|!=|in\b|not in\b)|works_with_citizens")
        offenders = [
            path
            for path, text in self.sources()
            if path.rsplit("/", 1)[-1].endswith("views.py") and forbidden.search(text)
        ]
        assert offenders == []

    def test_the_apps_compare_no_roles_themselves(self):
        import re

        comparison = re.compile(r"\.role\s*(==|!=|in\b|not in\b)|role__in=\[")
        found = [
            path
            for path, text in self.sources()
            if path.split("/")[0] in ("patients", "coordination", "reporting") and comparison.search(text)
        ]
        assert found == []

    def test_the_templates_compare_no_roles_themselves(self):
        """Menus and buttons ask the role table through `user|may:"work"` (access_tags)."""
        import re
        from pathlib import Path

        comparison = re.compile(r"\.role\s*(==|!=|in\b|not in\b)")
        root = Path(__file__).resolve().parent.parent / "templates"
        found = [str(path) for path in root.rglob("*.html") if comparison.search(path.read_text(encoding="utf-8"))]
        assert found == []


def without_csrf(html: str) -> str:
    import re

    return re.sub(r'(name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+', r"\1", html)


def receipt(client, url, data):
    """Everything the person sees: the answer, where it leads, the page there (with the number they
    typed themselves left out) and its messages."""
    response = client.post(url, data, follow=True)
    return {
        "status": response.status_code,
        "redirects": response.redirect_chain,
        "messages": [str(m) for m in response.context["messages"]],
        "page": without_csrf(response.content.decode()).replace(data["cpr"], "(typed)"),
    }


@pytest.mark.django_db
class TestRegisteringDoesNotTellWhomACprBelongsTo:
    """A CPR number another team follows and one nobody has registered give the same answer; the
    other team's citizen is neither registered twice nor lost: the registration becomes a referral
    awaiting triage by that team."""

    def registration(self, team, cpr, overrides=None):
        data = {"cpr": cpr, "first_name": "Ib", "last_name": "Mortensen", "team": team.id, "status": "active"}
        data.update({"city": "Aarhus C", "phone": "12 34 56 78", **(overrides or {})})
        return data

    def test_a_citizen_of_another_team_and_an_unknown_number_look_the_same(self, as_member, member, team, other_team):
        followed = PatientFactory(team=other_team, first_name="Grethe", last_name="Lund")
        unknown = valid_cpr()
        url = reverse("coordination:citizen_register")
        forwarded = receipt(as_member, url, self.registration(team, followed.cpr_formatted))
        registered = receipt(as_member, url, self.registration(team, unknown))
        assert forwarded == registered
        assert forwarded["redirects"] == [(url, 302)]
        assert len(forwarded["messages"]) == 1 and "Ib Mortensen" in forwarded["messages"][0]
        # Nothing registered twice, nothing lost.
        assert Patient.objects.filter(cpr=followed.cpr).count() == 1
        assert Patient.objects.get(cpr=unknown.replace("-", "")).team == team
        referral = Referral.objects.get(patient=followed)
        assert (referral.team, referral.status, referral.source, referral.created_by) == (
            other_team,
            "received",
            "centre",
            member,
        )
        assert "Ib" in referral.attachments and "Mortensen" in referral.attachments
        assert "12345678" in referral.attachments

    def test_the_citizens_team_triages_the_forwarded_registration_and_the_registrant_cannot_open_it(
        self, as_member, team, other_team
    ):
        followed = PatientFactory(team=other_team)
        as_member.post(reverse("coordination:citizen_register"), self.registration(team, followed.cpr))
        referral = Referral.objects.get(patient=followed)
        their_coordinator = UserFactory(role="coordinator", profession="", teams=[other_team])
        listed = client_for(their_coordinator).get(reverse("coordination:referrals"))
        assert referral in listed.context["awaiting"]
        assert as_member.get(reverse("coordination:referral", args=[referral.public_id])).status_code == 404
        assert referral not in as_member.get(reverse("coordination:referrals")).context["awaiting"]

    def test_a_mistake_in_the_form_is_reported_alike_whoever_has_the_number(
        self, as_member, team, other_team, outsider
    ):
        followed = PatientFactory(team=other_team)
        url = reverse("coordination:citizen_register")
        mistakes = {"responsible_professional": outsider.id, "phone": "555", "team": other_team.id}
        for field, value in mistakes.items():
            forwarded = receipt(as_member, url, self.registration(team, followed.cpr, {field: value}))
            unknown = receipt(as_member, url, self.registration(team, valid_cpr(), {field: value}))
            assert forwarded == unknown, field
            assert forwarded["status"] == 200 and forwarded["redirects"] == [], field
        assert not Referral.objects.exists()

    def test_a_citizen_of_the_users_own_team_is_already_registered_with_a_link(self, as_member, member, team, patient):
        response = as_member.post(reverse("coordination:citizen_register"), self.registration(team, patient.cpr))
        assert response.status_code == 200
        assert response.context["form"].errors["cpr"]
        assert reverse("patients:detail", args=[patient.public_id]) in response.content.decode()
        entry = AccessLog.objects.get(user=member, patient_public_id=patient.public_id)
        assert entry.outcome == "rejected"
        assert not Referral.objects.exists()


@pytest.mark.django_db
class TestReferringDoesNotTellWhomACprBelongsTo:
    @pytest.fixture
    def as_coordinator(self, coordinator):
        return client_for(coordinator)

    def referral(self, team, cpr, **overrides):
        data = {
            "cpr": cpr,
            "first_name": "Ny",
            "last_name": "Borger",
            "team": team.id,
            "source": "gp",
            "received_on": "01.03.2025",
            "reason": "Type 2-diabetes",
        }
        data.update(overrides)
        return data

    def test_a_citizen_of_another_team_and_an_unknown_number_look_the_same(self, as_coordinator, team, other_team):
        followed = PatientFactory(team=other_team)
        url = reverse("coordination:referral_create")
        forwarded = receipt(as_coordinator, url, self.referral(team, followed.cpr))
        new = receipt(as_coordinator, url, self.referral(team, valid_cpr()))
        assert forwarded == new
        assert forwarded["messages"] == ["Henvisningen er registreret og afventer visitation."]
        referral = Referral.objects.get(patient=followed)
        assert (referral.team, referral.status, referral.new_citizen) == (other_team, "received", False)
        assert "Ny Borger" in referral.attachments  # the name on the referral differs from the record's

    def test_without_names_the_answer_is_the_same_too(self, as_coordinator, team, other_team):
        followed = PatientFactory(team=other_team)
        url = reverse("coordination:referral_create")
        forwarded = receipt(as_coordinator, url, self.referral(team, followed.cpr, first_name="", last_name=""))
        new = receipt(as_coordinator, url, self.referral(team, valid_cpr(), first_name="", last_name=""))
        assert forwarded == new
        assert forwarded["status"] == 200 and forwarded["redirects"] == []
        assert not Referral.objects.exists()
