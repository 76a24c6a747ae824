"""A realistic demo centre: four teams, ~25 professionals, ~500 citizens with diabetes and/or
dementia, and about four years of dated history (two years shown on the dashboard, and the two
before them that its 12- and 24-month windows look back on). Deterministic (seeded), so that
every newcomer sees the same centre.

The history is made to show something on the manager's dashboard, as a real centre's would: the
teams differ (TEAM_PROFILES). Diabetes Syd loses citizens from follow-up and misses the HbA1c
target (a funnel-plot outlier); Diabetes Vest lost as many until it took up a weekly review of its
worklist about ten months ago (`routine_change_on`), called in those it had lost and has stayed
near target since (a run-chart shift); Diabetes Nord and the dementia team are steady with noise.
Every dated fact is set as the services would have recorded it on its day: team moves (through
the trigger's date setting), diagnoses made during the history, primary caregivers who took over,
goals created, achieved and dropped, discharges and deaths that end the enrolments, drafts that
are not yet signed."""

import datetime
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection
from django.utils import timezone
from faker import Faker
from psycopg import sql

from healthcenter.models import Profession, Role, Team, User
from patients.demo_texts import (
    ACTIONS_DEMENTIA,
    ACTIONS_DIABETES,
    NOTES_DEMENTIA,
    NOTES_DIABETES,
    NOTES_LOST,
    NOTES_NEW,
    NOTES_RECALLED,
    RELATIONS_CAREGIVER,
    RELATIONS_OTHER,
    WHAT_MATTERS_DEMENTIA,
    WHAT_MATTERS_DIABETES,
)
from patients.models import (
    ICD10_BY_CONDITION,
    AgreedAction,
    Condition,
    ConditionKind,
    Consent,
    ConsentKind,
    Encounter,
    EncounterKind,
    EndReason,
    Enrolment,
    Goal,
    GoalStatus,
    Measurement,
    MeasurementSource,
    MeasurementType,
    Patient,
    PatientStatus,
    Programme,
    Relative,
)
from patients.phones import parse_phone
from patients.services import encounter_sign

DEMO_PASSWORD = "demo-sundhed-2026"

# (username, first, last, role, profession, teams by index)
NAMED_USERS = [
    ("sygeplejerske", "Mette", "Holm", Role.PROFESSIONAL, Profession.NURSE, [0]),
    ("demenskoordinator", "Lone", "Bech", Role.PROFESSIONAL, Profession.DEMENTIA_COORDINATOR, [2]),
    ("koordinator", "Jesper", "Lund", Role.COORDINATOR, "", [0, 1]),
    ("leder", "Birgitte", "Kjær", Role.MANAGER, "", []),
    ("admin", "Anders", "Vang", Role.ADMINISTRATOR, "", []),
]
TEAMS = ["Diabetes Nord", "Diabetes Syd", "Demens og hukommelse", "Diabetes Vest"]
NORTH, SOUTH, DEMENTIA_TEAM, WEST = range(4)
DIABETES_TEAMS = [NORTH, SOUTH, WEST]
STAFF_MIX = [
    (Profession.NURSE, NORTH),
    (Profession.NURSE, SOUTH),
    (Profession.NURSE, SOUTH),
    (Profession.NURSE, DEMENTIA_TEAM),
    (Profession.DIETITIAN, NORTH),
    (Profession.DIETITIAN, SOUTH),
    (Profession.PHYSIOTHERAPIST, NORTH),
    (Profession.PHYSIOTHERAPIST, SOUTH),
    (Profession.OCCUPATIONAL_THERAPIST, DEMENTIA_TEAM),
    (Profession.OCCUPATIONAL_THERAPIST, DEMENTIA_TEAM),
    (Profession.DEMENTIA_COORDINATOR, DEMENTIA_TEAM),
    (Profession.DOCTOR, NORTH),
    (Profession.DOCTOR, DEMENTIA_TEAM),
    (Profession.NURSE, NORTH),
    (Profession.DIETITIAN, DEMENTIA_TEAM),
    (Profession.NURSE, WEST),
    (Profession.NURSE, WEST),
    (Profession.DIETITIAN, WEST),
    (Profession.PHYSIOTHERAPIST, WEST),
    (Profession.DOCTOR, WEST),
]
# (username, first, last, team) of the coordinators of the teams the named one does not cover.
COORDINATORS = [("koordinator.demens", "Hanne", "Storm", DEMENTIA_TEAM), ("koordinator.vest", "Karin", "Dahl", WEST)]


@dataclass(frozen=True)
class TeamProfile:
    """How a team works, as its figures will show it."""

    # The share of the team's citizens with diabetes it does not get in for checks at all, year
    # after year (they decline, or miss every appointment, and nobody follows it up).
    outside_share: float
    # At each HbA1c check that falls due: the chance the citizen drops out of follow-up for one to
    # two years (cancelled appointments, no blood test) unless the team calls them in.
    lapse_chance: float
    # The chance the primary caregiver takes part in an encounter about dementia.
    caregiver_chance: float
    # The chance an MMSE that is due is done at an encounter about dementia.
    mmse_chance: float
    # The team's case mix on the HbA1c level (mmol/mol).
    hba1c_shift: float
    # Median days from a referral received to the first encounter.
    wait_days: float
    # The chance an agreed action's task is done by its due date; most others are done late.
    on_time: float
    # Whether the team calls in the citizens it has lost from follow-up.
    recalls_lost: bool = False


TEAM_PROFILES = {
    NORTH: TeamProfile(
        outside_share=0.02,
        lapse_chance=0.015,
        caregiver_chance=0.25,
        mmse_chance=0.5,
        hba1c_shift=-2,
        wait_days=11,
        on_time=0.93,
    ),
    SOUTH: TeamProfile(
        outside_share=0.28,
        lapse_chance=0.05,
        caregiver_chance=0.2,
        mmse_chance=0.45,
        hba1c_shift=3,
        wait_days=26,
        on_time=0.7,
    ),
    DEMENTIA_TEAM: TeamProfile(
        outside_share=0.05,
        lapse_chance=0.04,
        caregiver_chance=0.55,
        mmse_chance=0.8,
        hba1c_shift=2,
        wait_days=17,
        on_time=0.9,
    ),
    WEST: TeamProfile(
        outside_share=0.25,
        lapse_chance=0.05,
        caregiver_chance=0.2,
        mmse_chance=0.45,
        hba1c_shift=2,
        wait_days=19,
        on_time=0.72,
    ),
}
# Diabetes Vest from its new routine on: a weekly review of the worklist; the citizens it had lost
# are called in, and most of them come.
WEST_AFTER_CHANGE = TeamProfile(
    outside_share=0.05,
    lapse_chance=0.02,
    caregiver_chance=0.25,
    mmse_chance=0.55,
    hba1c_shift=-1,
    wait_days=12,
    on_time=0.92,
    recalls_lost=True,
)


def routine_change_on(today: datetime.date) -> datetime.date:
    """The Monday about ten months ago when Diabetes Vest took up its weekly worklist review."""
    day = today - datetime.timedelta(days=300)
    return day - datetime.timedelta(days=day.weekday())


def team_profile(team_index: int, day: datetime.date, today: datetime.date) -> TeamProfile:
    if team_index == WEST and day >= routine_change_on(today):
        return WEST_AFTER_CHANGE
    return TEAM_PROFILES[team_index]


SPECIFIC_DEMENTIA = [
    ConditionKind.DEMENTIA_ALZHEIMER,
    ConditionKind.DEMENTIA_VASCULAR,
    ConditionKind.DEMENTIA_MIXED,
    ConditionKind.DEMENTIA_LEWY,
    ConditionKind.DEMENTIA_FRONTOTEMPORAL,
]
SPECIFIC_WEIGHTS = [40, 15, 10, 5, 3]
DAY = datetime.timedelta(days=1)


def days(n: float) -> datetime.timedelta:
    return datetime.timedelta(days=round(n))


@dataclass
class Caregiver:
    name: str
    relation: str
    since: datetime.date
    until: datetime.date | None = None


@dataclass
class Plan:
    """One citizen's life in the centre, decided before anything is written."""

    patient: Patient
    since: datetime.date  # the first enrolment's start
    exit_on: datetime.date | None
    teams: list[tuple[datetime.date | None, int]]  # (from, team index); the first from is None
    diabetes: str | None = None  # dm1, dm2 or prediabetes at the start
    diabetes_on: datetime.date | None = None  # the day type 2 diabetes is diagnosed, for prediabetes
    dementia_from: datetime.date | None = None  # dementia follow-up starts (diagnosis of dementia or MCI)
    conditions: list[tuple[str, datetime.date]] = field(default_factory=list)
    enrolments: list[tuple[str, datetime.date, datetime.date, datetime.date | None, str]] = field(default_factory=list)
    caregivers: list[Caregiver] = field(default_factory=list)
    shares: bool = False
    reach: float = 1.0  # below a team's outside_share the team does not get the citizen in
    hba1c_level: float = 0.0
    weight: float = 0.0
    systolic: float = 0.0
    mmse: float = 0.0

    def team_on(self, day: datetime.date) -> int:
        team = self.teams[0][1]
        for since, index in self.teams[1:]:
            if since <= day:
                team = index
        return team

    def outside(self, day: datetime.date, today: datetime.date) -> bool:
        return self.follows_diabetes and self.reach < team_profile(self.team_on(day), day, today).outside_share

    def caregiver_on(self, day: datetime.date) -> bool:
        return any(c.since <= day and (c.until is None or day < c.until) for c in self.caregivers)

    @property
    def follows_diabetes(self) -> bool:
        return self.diabetes is not None


class Seeder:
    def __init__(self, *, citizens: int, encounter_row: Callable = Encounter, measurement_row: Callable = Measurement):
        """`encounter_row` and `measurement_row` make the encounters and measurements the history
        decides (called with the models' fields; the models by default). A bulk writer that
        copies its rows itself can give plain rows: a model instance costs far more to make."""
        self.citizens = citizens
        self.encounter_row = encounter_row
        self.measurement_row = measurement_row
        self.rng = random.Random(2026)
        self.fake = Faker("da_DK")
        self.fake.seed_instance(2026)
        self.tz = timezone.get_current_timezone()
        self.now = timezone.now().replace(second=0, microsecond=0)
        self.today = timezone.localdate(self.now)
        # The dashboard's 24 months, and the 24 months before them its longest windows look back on.
        self.shown_from = (self.today.replace(day=1) - days(31 * 23)).replace(day=1)
        self.history_from = self.shown_from - days(760)
        self.change_on = routine_change_on(self.today)
        self.types = {t.code: t for t in MeasurementType.objects.all()}
        self.programmes = {p.code: p for p in Programme.objects.all()}
        self.used_cpr: set[str] = set(Patient.objects.values_list("cpr", flat=True))
        # One hash for every demo login: hashing is deliberately slow and they share the password.
        self.password = make_password(DEMO_PASSWORD)
        self.rows: dict[type, list] = {
            model: [] for model in (Condition, Enrolment, Consent, Relative, Goal, Encounter, Measurement)
        }
        self.actions: list[tuple[Encounter, str]] = []
        self.goal_dates: list[tuple[Goal, datetime.datetime]] = []

    def at(self, day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
        return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=self.tz)

    def between(self, first: datetime.date, last: datetime.date) -> datetime.date:
        return first + days(self.rng.uniform(0, max(0, (last - first).days)))

    # --- staff --------------------------------------------------------------------------------

    def run(self):
        self.teams = [Team.objects.get_or_create(name=name)[0] for name in TEAMS]
        self.staff = {index: [] for index in range(len(TEAMS))}
        for username, first, last, role, profession, team_idx in NAMED_USERS:
            user = self._user(username, first, last, role, profession, [self.teams[i] for i in team_idx])
            if role == Role.PROFESSIONAL:
                for i in team_idx:
                    self.staff[i].append(user)
        for profession, team_index in STAFF_MIX:
            first, last = self.fake.first_name(), self.fake.last_name()
            username = (
                f"{first}.{last}".lower().replace(" ", "").replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
            )
            user = self._user(username, first, last, Role.PROFESSIONAL, profession, [self.teams[team_index]])
            self.staff[team_index].append(user)
        for username, first, last, team_index in COORDINATORS:
            self._user(username, first, last, Role.COORDINATOR, "", [self.teams[team_index]])
        plans = [self._plan() for _ in range(self.citizens)]
        _spread_reach(plans)
        Patient.objects.bulk_create([plan.patient for plan in plans])
        self._move_teams(plans)
        for plan in plans:
            self._records(plan)
            self._history(plan)
        # Encounters are written as drafts and signed through the signing service on their day, so
        # that every signature has its access-log row like one given in the browser.
        signatures = [(e, e.signed_at) for e in self.rows[Encounter] if e.signed_at is not None]
        for encounter, _signed_at in signatures:
            encounter.signed_at = None
        for model, rows in self.rows.items():
            model.objects.bulk_create(rows, batch_size=2000)
        for encounter, signed_at in signatures:
            encounter_sign(actor=encounter.professional, encounter=encounter, expected_version=1, at=signed_at)
        # Goals were set on their day, not when the demo was made (created_at is automatic).
        backdate(Goal, "created_at", [(goal.pk, moment) for goal, moment in self.goal_dates])
        AgreedAction.objects.bulk_create(
            (AgreedAction(encounter=e, text=text) for e, text in self.actions), batch_size=2000
        )
        backdate(Patient, "created_at", [(plan.patient.pk, self.at(plan.since, 9)) for plan in plans])

    def _user(self, username, first, last, role, profession, teams) -> User:
        base, n = username, 1
        while User.objects.filter(username=username).exclude(first_name=first, last_name=last).exists():
            n += 1
            username = f"{base}{n}"
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "first_name": first,
                "last_name": last,
                "role": role,
                "profession": profession,
                "is_staff": role == Role.ADMINISTRATOR,
                "is_superuser": role == Role.ADMINISTRATOR,
                "password": self.password,
            },
        )
        if created:
            user.teams.set(teams)
        return user

    def _cpr(self, birth: datetime.date, sex: str) -> str:
        while True:
            serial = f"{self.rng.randint(0, 3)}{self.rng.randint(0, 99):02d}"
            last = self.rng.choice([0, 2, 4, 6, 8] if sex == "female" else [1, 3, 5, 7, 9])
            number = f"{birth:%d%m%y}{serial}{last}"
            if number not in self.used_cpr:
                self.used_cpr.add(number)
                return number

    # --- who the citizen is, and what happens to them when ---------------------------------------

    def _plan(self) -> Plan:
        rng, today = self.rng, self.today
        roll = rng.random()
        kind = "diabetes" if roll < 0.66 else "later" if roll < 0.70 else "dementia" if roll < 0.90 else "both"
        # A steady stream of citizens arrives and leaves (discharged, moved, died), years apart for
        # diabetes and sooner with dementia, so that the shown months are alike in who is followed.
        # Only those still followed when the shown months begin, or arriving later, are made.
        diabetes_course = kind in ("diabetes", "later")
        while True:
            since = today - days(rng.uniform(14, (30 if diabetes_course else 10) * 365))
            stay = days(30 + rng.expovariate(1 / (15 * 365 if diabetes_course else 3.5 * 365)))
            if since + stay >= self.shown_from:
                break
        newcomer = since >= self.history_from
        exit_on, status = None, PatientStatus.ACTIVE
        if since + stay <= today - days(3):
            exit_on = since + stay
            dying = 0.65 if not diabetes_course else 0.35
            status = PatientStatus.DECEASED if rng.random() < dying else PatientStatus.DISCHARGED
        age_at_start = rng.uniform(66, 90) if kind != "diabetes" else rng.uniform(35, 75)
        birth = since - days(age_at_start * 365.25)
        age = (today - birth).days // 365
        if kind == "dementia":
            team = DEMENTIA_TEAM
        elif kind == "both":
            team = DEMENTIA_TEAM if rng.random() < 0.45 else rng.choice(DIABETES_TEAMS)
        else:
            team = rng.choice(DIABETES_TEAMS)
        sex = rng.choice(["female", "male"])
        patient = Patient(
            cpr=self._cpr(birth, sex),
            first_name=self.fake.first_name_female() if sex == "female" else self.fake.first_name_male(),
            last_name=self.fake.last_name(),
            birth_date=birth,
            sex=sex,
            address=self.fake.street_address(),
            postal_code=self.fake.postcode(),
            city=self.fake.city(),
            phone=parse_phone(self.fake.phone_number()),
            gp_name=f"{self.fake.first_name()} {self.fake.last_name()}",
            gp_phone=parse_phone(self.fake.phone_number()),
            status=status,
            team=self.teams[team],
        )
        plan = Plan(patient=patient, since=since, exit_on=exit_on, teams=[(None, team)])
        last_day = (exit_on or today) - DAY
        if kind != "dementia":
            self._plan_diabetes(plan, age)
        if kind in ("dementia", "both"):
            self._plan_dementia(plan, since)
        elif kind == "later" and max(since + days(200), self.shown_from - days(120)) < last_day - days(90):
            # Dementia found during the follow-up for diabetes: a referral, a new enrolment, and
            # for some a move to the dementia team on the day it starts.
            diagnosed = self.between(max(since + days(200), self.shown_from - days(120)), last_day - days(90))
            self._plan_dementia(plan, diagnosed + days(rng.uniform(10, 50)), diagnosed=diagnosed)
            if rng.random() < 0.5:
                plan.teams.append((plan.dementia_from, DEMENTIA_TEAM))
        earliest_move = max(since + days(60), self.history_from + days(60))
        if plan.teams[-1][1] in DIABETES_TEAMS and rng.random() < 0.07 and earliest_move < last_day - days(45):
            # Moved house within the municipality: another district's team takes over.
            moved = self.between(earliest_move, last_day - days(45))
            plan.teams.append((moved, rng.choice([t for t in DIABETES_TEAMS if t != plan.teams[-1][1]])))
        patient.team = self.teams[plan.teams[0][1]]
        patient.responsible_professional = rng.choice(self.staff[plan.teams[-1][1]])
        self._plan_enrolments(plan, newcomer)
        return plan

    def _plan_diabetes(self, plan: Plan, age: int) -> None:
        rng = self.rng
        roll = rng.random()
        plan.diabetes = (
            ConditionKind.DIABETES_TYPE_2
            if roll < 0.88
            else ConditionKind.DIABETES_TYPE_1
            if roll < 0.93
            else ConditionKind.PREDIABETES
        )
        plan.conditions.append((plan.diabetes, plan.since - days(rng.uniform(15, 2500))))
        # The citizen's own HbA1c level: right-skewed, a few poorly regulated, type 1 higher.
        level = 44 + rng.gammavariate(2.2, 6.0) + TEAM_PROFILES[plan.teams[0][1]].hba1c_shift
        if plan.diabetes == ConditionKind.DIABETES_TYPE_1:
            level += 7
        if plan.diabetes == ConditionKind.PREDIABETES:
            level = rng.uniform(42, 46)
            last_day = (plan.exit_on or self.today) - days(60)
            if rng.random() < 0.45 and self.shown_from < last_day:
                plan.diabetes_on = self.between(self.shown_from, last_day)
                plan.conditions.append((ConditionKind.DIABETES_TYPE_2, plan.diabetes_on))
        if age >= 80:
            level += 3  # frail citizens are rightly treated less tightly
        plan.hba1c_level = level
        plan.weight = rng.gauss(90, 15)
        plan.systolic = rng.gauss(138, 11)

    def _plan_dementia(self, plan: Plan, start: datetime.date, diagnosed: datetime.date | None = None) -> None:
        rng = self.rng
        diagnosed = diagnosed or start - days(rng.uniform(20, 300))
        plan.dementia_from = start
        kind = rng.choices(
            [*SPECIFIC_DEMENTIA, ConditionKind.DEMENTIA_UNSPECIFIED, "mci"], [*SPECIFIC_WEIGHTS, 17, 10]
        )[0]
        last_day = (plan.exit_on or self.today) - days(30)
        later = self.between(max(start + days(90), self.shown_from - days(60)), last_day)
        if kind == "mci":
            plan.conditions.append((ConditionKind.MILD_COGNITIVE_IMPAIRMENT, diagnosed))
            if rng.random() < 0.45 and later < last_day:
                # Mild cognitive impairment that became dementia during the follow-up.
                dementia = rng.choices(
                    [*SPECIFIC_DEMENTIA, ConditionKind.DEMENTIA_UNSPECIFIED], [*SPECIFIC_WEIGHTS, 25]
                )
                plan.conditions.append((dementia[0], later))
            plan.mmse = rng.gauss(26, 1.5)
        else:
            plan.conditions.append((kind, diagnosed))
            if kind == ConditionKind.DEMENTIA_UNSPECIFIED and rng.random() < 0.3 and later < last_day:
                # Specified after an assessment at the memory clinic.
                plan.conditions.append((rng.choices(SPECIFIC_DEMENTIA, SPECIFIC_WEIGHTS)[0], later))
            plan.mmse = min(29.0, rng.gauss(23, 3))
        plan.shares = rng.random() < 0.8
        if rng.random() < 0.92:
            registered = start if rng.random() < 0.85 else start + days(rng.uniform(20, 200))
            if registered < last_day:
                first = Caregiver(self.fake.name(), rng.choice(RELATIONS_CAREGIVER), registered)
                plan.caregivers.append(first)
                taking_over = self.between(max(registered + days(120), self.shown_from - days(180)), last_day)
                if rng.random() < 0.14 and taking_over < last_day:
                    # The spouse fell ill or moved to a care home; a daughter or son took over.
                    first.until = taking_over
                    plan.caregivers.append(Caregiver(self.fake.name(), rng.choice(["datter", "søn"]), taking_over))

    def _plan_enrolments(self, plan: Plan, newcomer: bool) -> None:
        rng = self.rng

        def referred(start: datetime.date, team: int) -> datetime.date:
            profile = team_profile(team, start, self.today)
            return start - days(min(120, max(1, rng.lognormvariate(math.log(profile.wait_days), 0.45))))

        def enrol(code: str, start: datetime.date, end: datetime.date | None = None, reason: str = "") -> None:
            if start > (plan.exit_on or self.today):
                return
            received = referred(start, plan.team_on(start))
            if end is not None and end > self.today:
                end, reason = None, ""
            if plan.exit_on and (end is None or end > plan.exit_on):
                # The service that records a discharge or death ends the open enrolments that day.
                end = max(plan.exit_on, start)
                reason = EndReason.DECEASED if plan.patient.status == PatientStatus.DECEASED else EndReason.COMPLETED
            plan.enrolments.append((code, received, start, end, reason))

        if plan.follows_diabetes:
            enrol("diabetes-follow-up", plan.since)
            course = None
            if newcomer and rng.random() < 0.45:
                course = plan.since + days(rng.uniform(10, 45))
            elif not newcomer and rng.random() < 0.12:
                course = self.between(self.history_from, self.today - days(20))
            if course is not None:
                outcome = EndReason.COMPLETED if rng.random() < 0.85 else EndReason.DROPPED_OUT
                enrol("diabetes-course", course, course + days(70), outcome)
        if plan.dementia_from is not None:
            enrol("dementia-follow-up", plan.dementia_from)
            if rng.random() < 0.45:
                enrol("caregiver-support", plan.dementia_from + days(rng.uniform(0, 300)))

    def _move_teams(self, plans: list[Plan]) -> None:
        """Team changes on their own days: the trigger on the citizen's row keeps the history and
        reads the day from this setting (as patients.services.patient_update does)."""
        with connection.cursor() as cursor:
            for plan in plans:
                for moved_on, index in plan.teams[1:]:
                    cursor.execute("SELECT set_config('healthcenter.team_change_on', %s, true)", [moved_on.isoformat()])
                    Patient.objects.filter(pk=plan.patient.pk).update(team=self.teams[index])
                    plan.patient.team = self.teams[index]
            cursor.execute("SELECT set_config('healthcenter.team_change_on', '', true)")

    # --- records: conditions, enrolments, consents, relatives, goals -----------------------------

    def _records(self, plan: Plan) -> None:
        rng, patient = self.rng, plan.patient
        staff = self.staff[plan.team_on(plan.since)]
        for kind, diagnosed in plan.conditions:
            self.rows[Condition].append(
                Condition(patient=patient, kind=kind, icd10=ICD10_BY_CONDITION[kind], diagnosed_on=diagnosed)
            )
        for code, received, start, end, reason in plan.enrolments:
            self.rows[Enrolment].append(
                Enrolment(
                    patient=patient,
                    programme=self.programmes[code],
                    referral_received_on=received,
                    start_on=start,
                    end_on=end,
                    end_reason=reason,
                )
            )
        consents = [(ConsentKind.TREATMENT, plan.since)]
        if plan.shares:
            consents.append((ConsentKind.SHARE_WITH_RELATIVES, plan.dementia_from))
        if rng.random() < 0.15:
            consents.append((ConsentKind.STORY_IN_REPORTS, plan.since))
        for kind, given in consents:
            self.rows[Consent].append(
                Consent(patient=patient, kind=kind, given_on=given, given_by="Borgeren", recorded_by=rng.choice(staff))
            )
        for caregiver in plan.caregivers:
            self.rows[Relative].append(
                Relative(
                    patient=patient,
                    name=caregiver.name,
                    relation=caregiver.relation,
                    phone=parse_phone(self.fake.phone_number()),
                    is_primary_caregiver=caregiver.until is None,
                    primary_caregiver_from=caregiver.since,
                    primary_caregiver_until=caregiver.until,
                    may_receive_information=plan.shares,
                )
            )
        if rng.random() < 0.25:
            self.rows[Relative].append(
                Relative(
                    patient=patient,
                    name=self.fake.name(),
                    relation=rng.choice(RELATIONS_OTHER),
                    phone=parse_phone(self.fake.phone_number()),
                    may_receive_information=plan.shares,
                )
            )
        self._goals(plan)

    def _goal(self, plan: Plan, created: datetime.date, **fields) -> Goal:
        goal = Goal(patient=plan.patient, created_by=self.rng.choice(self.staff[plan.team_on(created)]), **fields)
        self.rows[Goal].append(goal)
        self.goal_dates.append((goal, self.at(created, self.rng.randint(9, 14))))
        return goal

    def _goals(self, plan: Plan) -> None:
        rng, today = self.rng, self.today
        last_day = (plan.exit_on or today) - DAY
        first_day = max(plan.since, self.history_from)
        ranges = []
        if plan.diabetes in (ConditionKind.DIABETES_TYPE_1, ConditionKind.DIABETES_TYPE_2):
            age = (today - plan.patient.birth_date).days // 365
            if (age >= 80 or plan.dementia_from) and rng.random() < 0.6:
                ranges = [(53, 70, "At undgå lavt blodsukker og føle sig tryg.")]
            elif age < 55 and rng.random() < 0.35:
                ranges = [(42, 53, "At holde blodsukkeret nede, så jeg undgår følgesygdomme.")]
            elif rng.random() < 0.25:
                ranges = [(48, 58, rng.choice(WHAT_MATTERS_DIABETES))]
        if ranges:
            low, high, text = ranges[0]
            created = min(last_day, first_day + days(rng.uniform(0, 120)))
            review = created + days(rng.uniform(150, 400))
            replaced = self.between(max(created + days(120), self.shown_from - days(90)), last_day - days(20))
            if rng.random() < 0.12 and replaced < last_day - days(20):
                # The range was relaxed when the citizen became frailer: the old goal stopped that day.
                self._goal(
                    plan,
                    created,
                    text=text,
                    measurement_type=self.types["hba1c"],
                    target_low=Decimal(low),
                    target_high=Decimal(high),
                    review_on=replaced,
                    status=GoalStatus.DROPPED,
                    dropped_on=replaced,
                )
                low, high, created = low + 5, min(high + 5, 75), replaced
                text = "At undgå lavt blodsukker og føle sig tryg."
            achieved = created + days(rng.uniform(90, 400))
            status, achieved_on = GoalStatus.ACTIVE, None
            if rng.random() < 0.2 and achieved < last_day:
                status, achieved_on = GoalStatus.ACHIEVED, achieved
            self._goal(
                plan,
                created,
                text=text,
                measurement_type=self.types["hba1c"],
                target_low=Decimal(low),
                target_high=Decimal(high),
                review_on=achieved_on or max(review, today + days(rng.uniform(5, 120))),
                status=status,
                achieved_on=achieved_on,
            )
        if plan.dementia_from is not None and rng.random() < 0.6:
            created = min(last_day, max(plan.dementia_from, first_day) + days(rng.uniform(0, 60)))
            dropped = created + days(rng.uniform(100, 500))
            if rng.random() < 0.2 and dropped < last_day:
                self._goal(
                    plan,
                    created,
                    text=rng.choice(WHAT_MATTERS_DEMENTIA),
                    review_on=dropped,
                    status=GoalStatus.DROPPED,
                    dropped_on=dropped,
                )
                created = dropped
            self._goal(
                plan,
                created,
                text=rng.choice(WHAT_MATTERS_DEMENTIA),
                review_on=today + days(rng.uniform(10, 150)),
            )
        elif plan.follows_diabetes and not ranges and rng.random() < 0.3:
            self._goal(
                plan,
                min(last_day, first_day + days(rng.uniform(0, 200))),
                text=rng.choice(WHAT_MATTERS_DIABETES),
                review_on=today + days(rng.uniform(-20, 120)),
            )

    # --- encounters and measurements over time ------------------------------------------------

    def _history(self, plan: Plan) -> None:
        """Encounters from the citizen's start (or the start of the records) to their exit or today.
        A citizen followed before the records began is simulated from their start, unrecorded, so
        that the recorded history starts mid-course, as it would in a real centre."""
        rng, today = self.rng, self.today
        first_recorded = max(plan.since, self.history_from)
        day = plan.since
        end = plan.exit_on - DAY if plan.exit_on else today
        last: dict[str, datetime.date] = {}
        lost_until: datetime.date | None = None
        was_lost = recall_checked = False
        deviation = rng.gauss(0, 4)
        excess = rng.uniform(5, 18)  # newly referred citizens come in above their own level
        excess_from = plan.since
        # A programme that starts later (a course, caregiver support) starts with a meeting.
        starts = sorted({start for _code, _received, start, _end, _reason in plan.enrolments if start > plan.since})
        first = True
        while day <= end:
            team = plan.team_on(day)
            profile = team_profile(team, day, today)
            dementia = plan.dementia_from is not None and day >= plan.dementia_from
            diabetes = plan.follows_diabetes
            if lost_until is not None and day >= lost_until:
                lost_until = None
            lost = lost_until is not None or (not first and day not in starts and plan.outside(day, today))
            recalled = was_lost and not lost
            if recalled:
                excess, excess_from = rng.uniform(3, 10), day
            was_lost = lost
            hba1c_due = diabetes and (day - last.get("hba1c", datetime.date.min)).days >= 85
            starts_losing = diabetes and not lost and not first and hba1c_due and rng.random() < profile.lapse_chance
            if starts_losing:
                lost_until = day + days(rng.uniform(330, 800))
            focus_dementia = dementia and (not diabetes or rng.random() < 0.5)
            if lost or starts_losing:
                kind = EncounterKind.PHONE
            elif first or day in starts:
                kind = EncounterKind.INDIVIDUAL
            elif focus_dementia:
                kind = rng.choices(list(EncounterKind), weights=[30, 5, 40, 20, 5])[0]
            else:
                kind = rng.choices(list(EncounterKind), weights=[55, 8, 2, 28, 7])[0]
            in_person = kind in (EncounterKind.INDIVIDUAL, EncounterKind.GROUP, EncounterKind.HOME_VISIT)
            started = self.at(day, rng.randint(8, 15), rng.choice([0, 15, 30, 45]))
            if started >= self.now:
                break
            recorded = day >= first_recorded
            values: list[tuple[str, object, str, datetime.date]] = []
            if diabetes and hba1c_due and not lost and not starts_losing:
                since_excess = (day - excess_from).days
                level = plan.hba1c_level + excess * math.exp(-max(0, since_excess) / 120)
                if plan.diabetes_on and day >= plan.diabetes_on - days(365):
                    level += min(1.0, (day - plan.diabetes_on).days / 365 + 1) * 12
                if team == WEST and day >= self.change_on:
                    level += min(1.0, (day - self.change_on).days / 180) * (
                        WEST_AFTER_CHANGE.hba1c_shift - TEAM_PROFILES[WEST].hba1c_shift
                    )
                deviation = 0.6 * deviation + rng.gauss(0, 3.5)
                value = max(32, min(150, level + deviation + rng.gauss(0, 1.5)))
                # Blood taken at the GP's laboratory arrives by the lab import a few days before.
                lab = not in_person or rng.random() < 0.3
                values.append(
                    ("hba1c", value, "lab" if lab else "encounter", day - days(rng.uniform(2, 8)) if lab else day)
                )
                last["hba1c"] = day
            if diabetes and in_person and not lost and (day - last.get("bp", datetime.date.min)).days >= 85:
                years = (day - plan.since).days / 365
                values.append(("weight", plan.weight - 0.8 * years + rng.gauss(0, 1), "encounter", day))
                systolic = plan.systolic + rng.gauss(0, 8)
                values.append(("systolic_bp", systolic, "encounter", day))
                values.append(("diastolic_bp", systolic * 0.58 + rng.gauss(0, 5), "encounter", day))
                last["bp"] = day
            if diabetes and in_person and not lost and (day - last.get("annual", datetime.date.min)).days >= 330:
                lab_day = day - days(rng.uniform(2, 8))
                values.append(("ldl", max(0.8, rng.gauss(2.6, 0.7)), "lab", lab_day))
                values.append(("urine_acr", max(0.2, rng.lognormvariate(0.5, 0.9)), "lab", lab_day))
                if rng.random() < 0.9:
                    values.append(("foot_exam", "abnormal" if rng.random() < 0.12 else "normal", "encounter", day))
                if rng.random() < 0.82:
                    # The eye doctor's letter, entered by hand.
                    eye = "abnormal" if rng.random() < 0.08 else "normal"
                    values.append(("eye_screening", eye, "manual", day - days(rng.uniform(5, 60))))
                last["annual"] = day
            if (
                dementia
                and in_person
                and focus_dementia
                and (day - last.get("mmse", datetime.date.min)).days >= 170
                and rng.random() < profile.mmse_chance
            ):
                years = (day - plan.dementia_from).days / 365
                score = round(plan.mmse - rng.uniform(1, 2.5) * years + rng.gauss(0, 1))
                if score >= 10:  # a citizen with severe dementia is no longer tested
                    values.append(("mmse", max(0, min(30, score)), "encounter", day))
                last["mmse"] = day
            if recorded:
                self._encounter(
                    plan,
                    started,
                    kind,
                    values,
                    profile,
                    dementia,
                    focus_dementia,
                    lost or starts_losing,
                    recalled,
                    first,
                )
            first = False
            gap = rng.uniform(70, 160) if lost else rng.uniform(35, 80) if dementia else rng.uniform(40, 100)
            following = day + days(gap)
            if lost and lost_until is None:
                # Outside the routine until the team changes its routine or the citizen moves team.
                changes = [self.change_on, *(moved for moved, _team in plan.teams[1:])]
                back = [c for c in changes if day < c <= following and not plan.outside(c, today)]
                if back:
                    following = min(following, max(day + DAY, min(back) + days(rng.uniform(3, 60))))
            if lost_until is not None and not recall_checked:
                # A team that reviews its worklist sees a citizen there once their HbA1c is 12 months
                # old, and calls them in; most of them come.
                flagged = max(self.change_on, last["hba1c"] + days(365))
                if following >= flagged:
                    recall_checked = True
                    if team_profile(plan.team_on(flagged), flagged, today).recalls_lost and rng.random() < 0.85:
                        lost_until = min(lost_until, flagged + days(rng.uniform(3, 60)))
            following = min([following, *(start for start in starts if start > day)])
            if lost_until is not None:
                following = min(following, lost_until)
            else:
                recall_checked = False
            day = following

    def _encounter(self, plan, started, kind, values, profile, dementia, focus_dementia, lost, recalled, first) -> None:
        rng = self.rng
        staff = self.staff[plan.team_on(timezone.localdate(started))]
        professional = rng.choice(staff)
        duration = rng.choice([20, 30, 45, 60])
        signed_at = started + datetime.timedelta(minutes=duration + rng.randint(10, 240))
        # The last few days' notes: some are still drafts.
        if (started > self.now - datetime.timedelta(days=4) and rng.random() < 0.3) or signed_at > self.now:
            signed_at = None
        if first:
            note = NOTES_NEW[0]
        elif lost:
            note = rng.choice(NOTES_LOST)
        elif recalled:
            note = rng.choice(NOTES_RECALLED)
        else:
            note = rng.choice(NOTES_DEMENTIA if focus_dementia else NOTES_DIABETES)
        encounter = self.encounter_row(
            patient=plan.patient,
            professional=professional,
            kind=kind,
            started_at=started,
            duration_minutes=duration,
            note=note,
            what_matters=rng.choice(WHAT_MATTERS_DEMENTIA if focus_dementia else WHAT_MATTERS_DIABETES)
            if rng.random() < 0.6 and not lost
            else "",
            signed_at=signed_at,
            caregiver_present=dementia
            and plan.caregiver_on(timezone.localdate(started))
            and rng.random() < profile.caregiver_chance,
        )
        self.rows[Encounter].append(encounter)
        for code, value, source, day in values:
            mt = self.types[code]
            is_result = isinstance(value, str)
            measured_at = started if source == "encounter" else self.at(day, rng.randint(8, 11), rng.choice([0, 30]))
            self.rows[Measurement].append(
                self.measurement_row(
                    patient=plan.patient,
                    type=mt,
                    encounter=encounter if source == "encounter" else None,
                    source=source,
                    measured_at=measured_at,
                    recorded_by=professional if source != MeasurementSource.LAB else None,
                    value=None if is_result else Decimal(str(round(value, mt.decimal_places))),
                    result=value if is_result else "",
                )
            )
        if lost:
            if rng.random() < 0.5:
                self.actions.append((encounter, ACTIONS_DIABETES[0]))
        elif rng.random() < 0.45:
            self.actions.append((encounter, rng.choice(ACTIONS_DEMENTIA if focus_dementia else ACTIONS_DIABETES)))


def _spread_reach(plans: list[Plan]) -> None:
    """Spreads how reachable citizens are evenly over each team's arrivals (a golden-ratio sequence
    in order of arrival), so that the share a team does not get in stays what its profile says
    month after month, instead of drifting with the chance of who happens to arrive."""
    for team in [*DIABETES_TEAMS, DEMENTIA_TEAM]:
        arrivals = sorted((p for p in plans if p.follows_diabetes and p.teams[0][1] == team), key=lambda p: p.since)
        for number, plan in enumerate(arrivals):
            plan.reach = (0.5 + number * 0.6180339887) % 1


def backdate(model, field_name: str, pairs: Iterable[tuple[int, object]]) -> None:
    """Sets an automatic timestamp (auto_now_add) to the day it really happened, in one statement."""
    pairs = list(pairs)
    if not pairs:
        return
    statement = sql.SQL(
        "UPDATE {table} SET {column} = v.at FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) "
        "WHERE {table}.id = v.id"
    ).format(
        table=sql.Identifier(model._meta.db_table), column=sql.Identifier(model._meta.get_field(field_name).column)
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [[pk for pk, _ in pairs], [moment for _, moment in pairs]])
