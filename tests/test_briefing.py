import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from coordination.caregaps import evaluate_care_gaps
from coordination.models import Task
from patients.models import AgreedAction, Consent, Goal, Measurement, MeasurementType, Relative

from .factories import ConditionFactory, EncounterFactory, MeasurementFactory, PatientFactory
from .test_caregaps import at_days_ago, enrolled, measure


@pytest.fixture
def citizen(team, member, colleague):
    patient = PatientFactory(team=team, responsible_professional=member, first_name="Karen", last_name="Jensen")
    ConditionFactory(patient=patient, kind="dm2")
    enrolled(patient, started_days_ago=250)
    hba1c = MeasurementType.objects.get(code="hba1c")
    Goal.objects.create(
        patient=patient,
        text="Undgå insulin",
        measurement_type=hba1c,
        target_low=48,
        target_high=58,
        review_on=timezone.localdate() + datetime.timedelta(days=30),
        created_by=member,
    )
    first = EncounterFactory(
        patient=patient,
        professional=colleague,
        started_at=at_days_ago(200),
        what_matters="At passe børnebørn",
        note="Lang samtale om kost og motion og om børnebørnene.",
    )
    MeasurementFactory(
        patient=patient,
        type=hba1c,
        value=Decimal(71),
        measured_at=at_days_ago(200),
        encounter=first,
        source="encounter",
    )
    last = EncounterFactory(
        patient=patient,
        professional=member,
        started_at=at_days_ago(30),
        what_matters="At cykle igen",
        note="Kort samtale.",
    )
    MeasurementFactory(
        patient=patient, type=hba1c, value=Decimal(66), measured_at=at_days_ago(30), encounter=last, source="encounter"
    )
    MeasurementFactory(patient=patient, type=hba1c, value=Decimal(57), measured_at=at_days_ago(5), source="lab")
    walk = AgreedAction.objects.create(encounter=last, text="Gåtur hver dag")
    AgreedAction.objects.create(encounter=last, text="Ring til diætist")
    Task.objects.create(
        title=walk.text,
        team=team,
        patient=patient,
        agreed_action=walk,
        origin="agreed_action",
        due_on=timezone.localdate(),
        status="done",
        completed_at=timezone.now(),
        created_by=member,
    )
    Relative.objects.create(
        patient=patient,
        name="Hanne Jensen",
        relation="datter",
        is_primary_caregiver=True,
        primary_caregiver_from=datetime.date(2020, 1, 1),
    )
    return patient


@pytest.mark.django_db
class TestBriefing:
    def test_it_answers_what_do_i_need_to_know(self, as_member, citizen):
        response = as_member.get(reverse("coordination:briefing", args=[citizen.public_id]))
        b = response.context["b"]
        assert [e.what_matters for e in b.what_matters] == ["At cykle igen", "At passe børnebørn"]
        ((_goal, progress),) = b.goals
        assert (progress.latest[1], progress.in_band) == (Decimal(57), True)
        assert [(item.text, item.task.status if item.task else None) for item in b.agreed] == [
            ("Gåtur hver dag", "done"),
            ("Ring til diætist", None),
        ]
        hba1c = next(c for c in b.changes if c.type.code == "hba1c")
        assert hba1c.at_last_meeting[1] == Decimal(71)  # what she came into the last meeting with
        assert hba1c.at_enrolment[1] == Decimal(71)
        assert hba1c.latest[1] == Decimal(57)
        assert [len(e.note) for e in b.recent_notes] == sorted(len(e.note) for e in b.recent_notes)
        body = response.content.decode()
        assert citizen.cpr_masked in body
        assert citizen.cpr_formatted not in body  # printable for a home visit: the CPR number is masked
        assert "Hanne Jensen" in body
        assert "Ingen samtykke til at dele oplysninger med pårørende." in body

    def test_consent_to_share_is_shown(self, as_member, member, citizen):
        Consent.objects.create(
            patient=citizen, kind="share_relatives", given_on=timezone.localdate(), given_by="x", recorded_by=member
        )
        b = as_member.get(reverse("coordination:briefing", args=[citizen.public_id])).context["b"]
        assert b.may_share_with_relatives

    def test_it_lists_open_gaps(self, as_member, citizen):
        evaluate_care_gaps()
        b = as_member.get(reverse("coordination:briefing", args=[citizen.public_id])).context["b"]
        assert {g.rule.code for g in b.gaps} >= {"bp-12m", "foot-24m"}

    def test_outsiders_get_404_and_it_is_logged(self, as_outsider, outsider, citizen):
        from healthcenter.models import AccessLog

        assert as_outsider.get(reverse("coordination:briefing", args=[citizen.public_id])).status_code == 404
        assert AccessLog.objects.filter(user=outsider, patient_public_id=citizen.public_id, outcome="denied").exists()

    def test_the_budget_does_not_grow_with_history(self, as_member, member, citizen, django_assert_max_num_queries):
        hba1c = MeasurementType.objects.get(code="hba1c")
        url = reverse("coordination:briefing", args=[citizen.public_id])

        def add(count):
            Measurement.objects.bulk_create(
                Measurement(
                    patient=citizen,
                    type=hba1c,
                    value=Decimal(60),
                    source="lab",
                    measured_at=timezone.now() - datetime.timedelta(days=300, hours=i),
                )
                for i in range(count)
            )

        add(10)
        with django_assert_max_num_queries(30) as small:
            as_member.get(url)
        add(990)
        with django_assert_max_num_queries(len(small)):
            as_member.get(url)


@pytest.mark.django_db
class TestWorklist:
    def test_it_ranks_citizens_by_need_and_says_why(self, as_member, member, team, citizen):
        calm = PatientFactory(team=team, responsible_professional=member, last_name="Rolig")
        ConditionFactory(patient=calm, kind="dm2")
        enrolled(calm, started_days_ago=10)
        EncounterFactory(patient=calm, professional=member, started_at=at_days_ago(2))
        for code, value, result in [
            ("hba1c", 50, ""),
            ("systolic_bp", 130, ""),
            ("urine_acr", 1, ""),
            ("foot_exam", None, "normal"),
            ("eye_screening", None, "normal"),
        ]:
            measure(calm, code, None if value is None else Decimal(value), result)
        evaluate_care_gaps()
        rows = as_member.get(reverse("coordination:worklist")).context["page"].object_list
        assert rows[0].patient == citizen
        assert any(reason == "Blodtryk ikke målt i 12 måneder" for reason in rows[0].reasons)
        assert rows[-1].patient == calm

    def test_it_shows_only_my_citizens_unless_asked_for_the_team(self, as_member, colleague, team, citizen):
        other = PatientFactory(team=team, responsible_professional=colleague)
        mine = as_member.get(reverse("coordination:worklist")).context["page"].object_list
        theirs = as_member.get(reverse("coordination:worklist"), {"scope": "team"}).context["page"].object_list
        assert other not in [r.patient for r in mine]
        assert other in [r.patient for r in theirs]

    def test_the_caseload_panel_compares_me_with_the_centre(self, as_member, citizen):
        figures = as_member.get(reverse("coordination:worklist")).context["figures"]
        mine = figures[0]
        assert (mine.at_own_target.part, mine.at_own_target.whole) == (1, 1)
        assert mine.at_own_target.percent == "100,0 %"  # like every share shown: one decimal, Danish comma

    def test_the_centre_comparison_comes_from_the_rollup_through_the_display_function(self, as_member, citizen):
        from reporting.models import Indicator, IndicatorValue

        IndicatorValue.objects.create(
            indicator=Indicator.objects.get(code="DM-AT-OWN-TARGET"),
            month=timezone.localdate().replace(day=1),
            unit_kind="centre",
            unit_id=0,
            numerator=2,
            denominator=22,
            value=Decimal("9.09"),
            computed_at=timezone.now(),
        )
        page = as_member.get(reverse("coordination:worklist")).content.decode()
        assert "≤ 19 %" in page
        assert "9,09" not in page and "9,1" not in page
        assert len(as_member.get(reverse("coordination:worklist")).context["figures"]) == 2  # mine, my teams

    def test_the_budget_does_not_grow_with_the_caseload(self, as_member, member, team, django_assert_max_num_queries):
        def add(count):
            for _ in range(count):
                p = PatientFactory(team=team, responsible_professional=member)
                ConditionFactory(patient=p, kind="dm2")
                enrolled(p)
            evaluate_care_gaps()

        add(3)
        with django_assert_max_num_queries(20) as small:
            as_member.get(reverse("coordination:worklist"))
        add(25)
        with django_assert_max_num_queries(len(small)):
            as_member.get(reverse("coordination:worklist"))
