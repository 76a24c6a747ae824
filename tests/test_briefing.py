import datetime
import itertools
import random
import re
from decimal import Decimal

import pytest
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from coordination import briefing
from coordination.briefing import TREND_CHECKS, worklist_ranked, worklist_rows
from coordination.caregaps import evaluate_care_gaps
from coordination.models import OPEN_STATUSES, CareGap, CareGapRule, Task
from healthcenter import access
from patients.models import (
    AgreedAction,
    Consent,
    Goal,
    Measurement,
    MeasurementType,
    Patient,
    Programme,
    Relative,
)

from .factories import ConditionFactory, EncounterFactory, MeasurementFactory, PatientFactory, TeamFactory
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
        assert len(as_member.get(reverse("coordination:worklist")).context["figures"]) == 1  # mine, counted live

    def test_the_teams_figure_comes_from_the_rollup_with_the_breakdowns_suppression(
        self, as_member, member, team, other_team, citizen
    ):
        from reporting.models import Indicator, IndicatorValue

        third = TeamFactory(name="Demens Øst")
        month = timezone.localdate().replace(day=1)
        for unit_kind, unit_id, numerator, denominator in [
            ("centre", 0, 60, 100),
            ("team", team.id, 30, 50),
            ("team", other_team.id, 28, 47),
            ("team", third.id, 2, 3),  # "<5": hidden, so the next smallest team is hidden too
        ]:
            IndicatorValue.objects.create(
                indicator=Indicator.objects.get(code="DM-AT-OWN-TARGET"),
                month=month,
                unit_kind=unit_kind,
                unit_id=unit_id,
                numerator=numerator,
                denominator=denominator,
                value=Decimal(100 * numerator) / denominator,
                computed_at=timezone.now(),
            )
        member.teams.add(other_team)
        page = as_member.get(reverse("coordination:worklist")).content.decode()
        cards = re.findall(r'data-testid="team-comparison">(.*?)</div></div></div>', page, re.S)
        assert [re.search(r"<strong>(.*?)</strong>", card).group(1) for card in cards] == ["60,0 %", "vises ikke"]
        assert "Diabetes Syd" in cards[1] and "Demens Øst" not in page

    def test_a_team_without_this_months_rollup_says_so(self, as_member, citizen):
        page = as_member.get(reverse("coordination:worklist")).content.decode()
        (card,) = re.findall(r'data-testid="team-comparison">(.*?)</div></div></div>', page, re.S)
        assert "Diabetes Nord" in card and "<strong>" not in card

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


def reference_ranking(user, *, scope="mine", programme_id=None, rule_id=None):
    """The worklist's definition as it was computed in Python before it moved into SQL, kept here
    only to check the SQL against: (citizen id, score, reasons) in rank order."""
    today = timezone.localdate()
    patients = Patient.objects.filter(status="active", team_id__in=access.care_team_ids(user))
    if scope == "mine":
        patients = patients.filter(responsible_professional=user)
    if programme_id:
        patients = patients.filter(enrolments__programme_id=programme_id, enrolments__end_on__isnull=True).distinct()
    if rule_id:
        patients = patients.filter(care_gaps__rule_id=rule_id, care_gaps__closed_at__isnull=True).distinct()
    patients = list(
        patients.annotate(
            last_contact=Max("encounters__started_at", filter=Q(encounters__started_at__lte=timezone.now()))
        )
    )
    rows = []
    for patient in patients:
        gaps = list(CareGap.objects.filter(patient=patient, closed_at__isnull=True).select_related("rule"))
        trends = [g for g in gaps if g.rule.check_kind in TREND_CHECKS]
        others = [g for g in gaps if g.rule.check_kind not in TREND_CHECKS]
        overdue = Task.objects.filter(patient=patient, status__in=OPEN_STATUSES, due_on__lt=today).count()
        days = (today - timezone.localdate(patient.last_contact)).days if patient.last_contact else None
        reasons = [g.rule.name for g in trends] + [g.rule.name for g in others]
        if overdue:
            reasons.append(ngettext("%(count)d overdue task", "%(count)d overdue tasks", overdue) % {"count": overdue})
        if days is None:
            reasons.append(gettext("no encounter yet"))
        elif days > 42:
            reasons.append(gettext("last contact %(days)d days ago") % {"days": days})
        since_contact = days if days is not None else 180
        score = 4 * len(trends) + 3 * len(others) + 2 * overdue + min(since_contact / 30, 6)
        rows.append((patient, round(score, 1), reasons))
    rows.sort(key=lambda r: (-r[1], r[0].last_name, r[0].id))
    return [(p.id, score, reasons) for p, score, reasons in rows]


@pytest.fixture
def varied_caseload(team, other_team, member, colleague):
    """Citizens whose scores differ in every part of the definition, and tie where the name and
    then the id must decide (names in upper and lower case and with Danish letters)."""
    rng = random.Random(11)
    trend_rules = list(CareGapRule.objects.filter(check_kind__in=TREND_CHECKS))
    other_rules = list(CareGapRule.objects.exclude(check_kind__in=TREND_CHECKS))
    names = ["Andersen", "andersen", "Åberg", "Ærø", "Østergaard", "Zahle", "Aagaard", "Andersen"]
    today = timezone.localdate()
    people = []
    for i in range(40):
        patient = PatientFactory(
            team=other_team if i % 13 == 12 else team,
            responsible_professional=member if i % 3 else colleague,
            last_name=names[i % len(names)],
            status="discharged" if i % 17 == 16 else "active",
        )
        if i % 4 == 0:
            enrolled(patient)
        for rule in rng.sample(trend_rules, rng.choice([0, 0, 1, 2])):
            CareGap.objects.create(patient=patient, rule=rule)
        for rule in rng.sample(other_rules, rng.choice([0, 0, 1, 3])):
            gap = CareGap.objects.create(patient=patient, rule=rule)
            if rng.random() < 0.2:  # filled since: no longer counts
                CareGap.objects.filter(pk=gap.pk).update(closed_at=timezone.now())
        for _ in range(rng.choice([0, 0, 1, 3])):
            status = rng.choice(["open", "in_progress", "done", "cancelled"])
            Task.objects.create(
                title="Ring",
                team=team,
                patient=patient,
                due_on=today - datetime.timedelta(days=rng.choice([1, 30])),
                status=status,
                completed_at=timezone.now() if status == "done" else None,
                created_by=member,
            )
        Task.objects.create(title="Senere", team=team, patient=patient, due_on=today, created_by=member)
        if i % 5:
            for days in rng.sample([1, 7, 29, 31, 43, 44, 45, 90, 179, 181, 400], rng.choice([1, 2])):
                EncounterFactory(patient=patient, professional=member, started_at=at_days_ago(days, hour=12))
        if i % 7 == 1:
            # Just after midnight, local time: the day before in UTC, which must not count.
            EncounterFactory(
                patient=patient,
                professional=member,
                started_at=at_days_ago(43, hour=0) + datetime.timedelta(minutes=30),
            )
        if i % 9 == 2:
            EncounterFactory(
                patient=patient, professional=member, started_at=timezone.now() + datetime.timedelta(days=3)
            )
        people.append(patient)
    return people


@pytest.mark.django_db
class TestWorklistRankingInSQL:
    def test_the_ranking_and_reasons_are_the_python_definitions(self, member, varied_caseload):
        narrowed = {
            "everyone": {},
            "programme": {"programme_id": Programme.objects.get(code="diabetes-follow-up").id},
            # The rule most citizens fail.
            "gap": {
                "rule_id": CareGap.objects.filter(closed_at__isnull=True)
                .values("rule_id")
                .annotate(n=Count("id"))
                .order_by("-n", "rule_id")[0]["rule_id"]
            },
        }
        for scope in ("mine", "team"):
            for label, filters in narrowed.items():
                with translation.override("da"):
                    expected = reference_ranking(member, scope=scope, **filters)
                    rows = worklist_rows(list(worklist_ranked(member, scope=scope, **filters)))
                assert len(expected) >= 3, (scope, label)
                assert [(r.patient.id, r.score, r.reasons) for r in rows] == expected, (scope, label)

    def test_the_scores_tie_where_the_name_and_then_the_id_decide(self, member, varied_caseload):
        ranked = list(worklist_ranked(member, scope="team"))
        ties = [(a, b) for a, b in itertools.pairwise(ranked) if a.score == b.score]
        assert any(a.last_name != b.last_name for a, b in ties)
        assert any(a.last_name == b.last_name for a, b in ties)

    def test_the_pages_follow_the_ranking(self, as_member, member, varied_caseload, monkeypatch):
        monkeypatch.setattr(briefing, "WORKLIST_PAGE", 4)
        expected = [patient_id for patient_id, _score, _reasons in reference_ranking(member, scope="team")]
        shown = []
        for number in range(1, len(expected) // 4 + 2):
            page = as_member.get(reverse("coordination:worklist"), {"scope": "team", "page": number}).context["page"]
            shown += [row.patient.id for row in page.object_list]
            if not page.has_next():
                break
        assert shown == expected


@pytest.mark.django_db
def test_the_worklist_reads_as_many_rows_for_sixty_citizens_as_for_ten(
    as_member, member, team, django_assert_max_num_queries
):
    rules = list(CareGapRule.objects.all()[:3])

    def add(count):
        for i in range(count):
            patient = PatientFactory(team=team, responsible_professional=member)
            CareGap.objects.create(patient=patient, rule=rules[i % 3])
            Task.objects.create(
                title="Ring",
                team=team,
                patient=patient,
                due_on=timezone.localdate() - datetime.timedelta(days=2),
                created_by=member,
            )
            EncounterFactory(patient=patient, professional=member, started_at=at_days_ago(50 + i))

    add(10)
    url = reverse("coordination:worklist")
    with django_assert_max_num_queries(20) as small:
        as_member.get(url, {"scope": "team"})
    add(50)
    with django_assert_max_num_queries(len(small)):
        response = as_member.get(url, {"scope": "team"})
    assert len(response.context["page"].object_list) == 50
    with django_assert_max_num_queries(len(small)):
        as_member.get(url, {"scope": "team", "page": 2})
