"""A realistic demo centre: 3 teams, ~20 professionals, ~500 citizens with diabetes and/or
dementia, and two years of encounters and measurements with plausible trends. Deterministic
(seeded), so that every newcomer sees the same centre."""

import datetime
import random
from decimal import Decimal

from django.utils import timezone
from faker import Faker

from healthcenter.models import Profession, Role, Team, User
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
    Programme,
    Relative,
)

DEMO_PASSWORD = "demo-sundhed-2026"

# (username, first, last, role, profession, teams by index)
NAMED_USERS = [
    ("sygeplejerske", "Mette", "Holm", Role.PROFESSIONAL, Profession.NURSE, [0]),
    ("demenskoordinator", "Lone", "Bech", Role.PROFESSIONAL, Profession.DEMENTIA_COORDINATOR, [2]),
    ("koordinator", "Jesper", "Lund", Role.COORDINATOR, "", [0, 1]),
    ("leder", "Birgitte", "Kjær", Role.MANAGER, "", []),
    ("admin", "Anders", "Vang", Role.ADMINISTRATOR, "", []),
]
TEAMS = ["Diabetes Nord", "Diabetes Syd", "Demens og hukommelse"]
STAFF_MIX = [
    (Profession.NURSE, 0),
    (Profession.NURSE, 1),
    (Profession.NURSE, 1),
    (Profession.NURSE, 2),
    (Profession.DIETITIAN, 0),
    (Profession.DIETITIAN, 1),
    (Profession.PHYSIOTHERAPIST, 0),
    (Profession.PHYSIOTHERAPIST, 1),
    (Profession.OCCUPATIONAL_THERAPIST, 2),
    (Profession.OCCUPATIONAL_THERAPIST, 2),
    (Profession.DEMENTIA_COORDINATOR, 2),
    (Profession.DOCTOR, 0),
    (Profession.DOCTOR, 2),
    (Profession.NURSE, 0),
    (Profession.DIETITIAN, 2),
]

WHAT_MATTERS_DIABETES = [
    "At kunne gå tur med hunden hver dag uden at blive forpustet.",
    "Jeg vil gerne undgå at skulle have insulin.",
    "At have energi til at passe mine børnebørn om onsdagen.",
    "At kunne spise med til familiefester uden dårlig samvittighed.",
    "At tabe mig så knæene ikke gør så ondt.",
    "At forstå hvad mine blodsukkertal betyder.",
    "At komme tilbage til badmintonklubben.",
    "At min kone ikke skal bekymre sig så meget.",
    "At sove bedre om natten.",
    "At kunne passe mit arbejde som buschauffør.",
]
WHAT_MATTERS_DEMENTIA = [
    "At blive boende hjemme så længe som muligt.",
    "At kunne gå i haven og passe mine roser.",
    "At min datter ikke skal bruge al sin tid på mig.",
    "At have faste rutiner om morgenen.",
    "At komme med i sangkoret igen.",
    "At kunne følge med når familien snakker.",
    "At kunne klare indkøbene i Netto selv.",
    "At min mand får en pause en gang imellem.",
]
NOTES_DIABETES = [
    "Gennemgang af blodsukkermålinger. Borger fortæller om bedre kostvaner, mindre sodavand. Drøftet motion.",
    "Samtale om medicin; tager metformin som ordineret. Har haft lidt maveproblemer. Fødder set, ingen sår.",
    "Borger har været på diabetesskole og er glad for holdet. Vil gerne fortsætte med gåture.",
    "Vægten er stabil. Borger har svært ved at finde motivation efter sygdom i familien. Aftalt opfølgning.",
    "Kostsamtale med fokus på måltidsrytme. Borger spiser ofte sent om aftenen.",
    "Telefonopfølgning. Borger har fået nyt job og har travlt, men holder fast i morgengåturen.",
]
NOTES_DEMENTIA = [
    "Hjemmebesøg sammen med datter. Borger er glad og genkender os. Mere glemsom med aftaler.",
    "Pårørendesamtale. Ægtefælle er træt; drøftet aflastning og pårørendegruppe.",
    "MMSE gennemført. Borger er orienteret i tid og sted, men har svært ved genkaldelse.",
    "Borger har været faldet i hjemmet uden skader. Drøftet tryghedsalarm og rutiner.",
    "Opfølgning på medicin. Ægtefælle doserer nu medicinen i æske.",
    "Samtale om aktiviteter; borger deltager i dagcenter to gange om ugen.",
]
ACTIONS_DIABETES = [
    "Bestille HbA1c hos egen læge før næste samtale",
    "Henvise til diætist",
    "Gåtur 30 minutter fem dage om ugen",
    "Telefonopfølgning om 4 uger",
    "Fodterapeut bestilles",
    "Øjenscreening bookes",
]
ACTIONS_DEMENTIA = [
    "Tilbyde plads i pårørendegruppe",
    "Søge aflastning via visitationen",
    "Hjemmebesøg om 6 uger",
    "Ergoterapeut vurderer hjælpemidler",
    "Kontakte egen læge om medicingennemgang",
]
RELATIONS = ["datter", "søn", "ægtefælle", "hustru", "mand", "nabo", "niece"]


class Seeder:
    def __init__(self, *, citizens: int):
        self.citizens = citizens
        self.rng = random.Random(2026)
        self.fake = Faker("da_DK")
        self.fake.seed_instance(2026)
        self.now = timezone.now().replace(second=0, microsecond=0)
        self.start = self.now - datetime.timedelta(days=730)
        self.types = {t.code: t for t in MeasurementType.objects.all()}
        self.programmes = {p.code: p for p in Programme.objects.all()}
        self.used_cpr: set[str] = set(Patient.objects.values_list("cpr", flat=True))

    def run(self):
        self.teams = [Team.objects.get_or_create(name=name)[0] for name in TEAMS]
        self.staff_by_team = {team.id: [] for team in self.teams}
        for username, first, last, role, profession, team_idx in NAMED_USERS:
            user = self._user(username, first, last, role, profession, [self.teams[i] for i in team_idx])
            if role == Role.PROFESSIONAL:
                for i in team_idx:
                    self.staff_by_team[self.teams[i].id].append(user)
        for profession, team_index in STAFF_MIX:
            first, last = self.fake.first_name(), self.fake.last_name()
            username = (
                f"{first}.{last}".lower().replace(" ", "").replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
            )
            user = self._user(username, first, last, Role.PROFESSIONAL, profession, [self.teams[team_index]])
            self.staff_by_team[self.teams[team_index].id].append(user)
        self._user("koordinator.demens", "Hanne", "Storm", Role.COORDINATOR, "", [self.teams[2]])
        for _ in range(self.citizens):
            self._citizen()

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
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
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

    def _citizen(self):
        rng = self.rng
        roll = rng.random()
        has_diabetes = roll < 0.72 or roll > 0.92
        has_dementia = roll >= 0.72
        team = self.teams[2] if has_dementia and not has_diabetes else self.teams[rng.randint(0, 1)]
        if has_dementia and has_diabetes:
            team = self.teams[rng.choice([0, 1, 2])]
        age = rng.randint(70, 92) if has_dementia else rng.randint(38, 84)
        birth = (self.now - datetime.timedelta(days=age * 365 + rng.randint(0, 364))).date()
        sex = rng.choice(["female", "male"])
        first = self.fake.first_name_female() if sex == "female" else self.fake.first_name_male()
        staff = self.staff_by_team[team.id]
        status = "active" if rng.random() < 0.93 else rng.choice(["discharged", "deceased"])
        patient = Patient.objects.create(
            cpr=self._cpr(birth, sex),
            first_name=first,
            last_name=self.fake.last_name(),
            birth_date=birth,
            sex=sex,
            address=self.fake.street_address(),
            postal_code=self.fake.postcode(),
            city=self.fake.city(),
            phone=self.fake.phone_number(),
            gp_name=f"{self.fake.first_name()} {self.fake.last_name()}",
            gp_phone=self.fake.phone_number(),
            status=status,
            team=team,
            responsible_professional=rng.choice(staff),
        )
        since = self.start + datetime.timedelta(days=rng.randint(-400, 500))
        since = min(since, self.now - datetime.timedelta(days=60))
        kinds = []
        if has_diabetes:
            kinds.append(
                ConditionKind.DIABETES_TYPE_2
                if rng.random() < 0.88
                else rng.choice([ConditionKind.DIABETES_TYPE_1, ConditionKind.PREDIABETES])
            )
        if has_dementia:
            kinds.append(
                rng.choices(
                    [
                        ConditionKind.DEMENTIA_ALZHEIMER,
                        ConditionKind.DEMENTIA_VASCULAR,
                        ConditionKind.DEMENTIA_MIXED,
                        ConditionKind.DEMENTIA_LEWY,
                        ConditionKind.DEMENTIA_FRONTOTEMPORAL,
                        ConditionKind.DEMENTIA_UNSPECIFIED,
                        ConditionKind.MILD_COGNITIVE_IMPAIRMENT,
                    ],
                    weights=[40, 15, 10, 5, 3, 17, 10],
                )[0]
            )
        for kind in kinds:
            Condition.objects.create(
                patient=patient,
                kind=kind,
                icd10=ICD10_BY_CONDITION[kind],
                diagnosed_on=(since - datetime.timedelta(days=rng.randint(30, 2000))).date(),
            )
        enrol_start = since.date()
        programmes = []
        if has_diabetes:
            programmes.append("diabetes-follow-up")
            if rng.random() < 0.4:
                programmes.append("diabetes-course")
        if has_dementia:
            programmes.append("dementia-follow-up")
            if rng.random() < 0.35:
                programmes.append("caregiver-support")
        for code in programmes:
            received = enrol_start - datetime.timedelta(days=rng.randint(3, 40))
            end_on, reason = None, ""
            if code == "diabetes-course":
                end_on, reason = enrol_start + datetime.timedelta(days=70), EndReason.COMPLETED
            elif status == "deceased":
                end_on, reason = (self.now - datetime.timedelta(days=rng.randint(5, 50))).date(), EndReason.DECEASED
            elif status == "discharged":
                end_on, reason = (self.now - datetime.timedelta(days=rng.randint(5, 50))).date(), EndReason.COMPLETED
            if end_on and end_on > self.now.date():
                end_on, reason = None, ""
            Enrolment.objects.create(
                patient=patient,
                programme=self.programmes[code],
                referral_received_on=received,
                start_on=enrol_start,
                end_on=end_on,
                end_reason=reason,
            )
        Consent.objects.create(
            patient=patient,
            kind=ConsentKind.TREATMENT,
            given_on=enrol_start,
            given_by="Borgeren",
            recorded_by=rng.choice(staff),
        )
        if has_dementia:
            caregiver = self.fake.name()
            shares = rng.random() < 0.8
            if shares:
                Consent.objects.create(
                    patient=patient,
                    kind=ConsentKind.SHARE_WITH_RELATIVES,
                    given_on=enrol_start,
                    given_by="Borgeren",
                    recorded_by=rng.choice(staff),
                )
            Relative.objects.create(
                patient=patient,
                name=caregiver,
                relation=rng.choice(RELATIONS),
                phone=self.fake.phone_number(),
                is_primary_caregiver=True,
                primary_caregiver_from=enrol_start,
                may_receive_information=shares,
            )
        if rng.random() < 0.15:
            Consent.objects.create(
                patient=patient,
                kind=ConsentKind.STORY_IN_REPORTS,
                given_on=enrol_start,
                given_by="Borgeren",
                recorded_by=rng.choice(staff),
            )
        self._history(patient, since, has_diabetes, has_dementia, staff)

    def _history(self, patient, since, has_diabetes, has_dementia, staff):
        rng = self.rng
        end = self.now if patient.status == "active" else self.now - datetime.timedelta(days=rng.randint(60, 120))
        hba1c = rng.gauss(62, 11) if has_diabetes else None
        hba1c_drift = rng.gauss(-3, 4)  # per year; most improve a little, some worsen
        weight = rng.gauss(88, 15) if has_diabetes else rng.gauss(72, 11)
        systolic = rng.gauss(138, 12)
        mmse = min(29.0, rng.gauss(23, 3)) if has_dementia else None
        if has_diabetes and has_dementia and rng.random() < 0.5:
            Goal.objects.create(
                patient=patient,
                text="At undgå lavt blodsukker og føle sig tryg.",
                measurement_type=self.types["hba1c"],
                target_low=Decimal(53),
                target_high=Decimal(70),
                review_on=(self.now + datetime.timedelta(days=rng.randint(10, 120))).date(),
                created_by=rng.choice(staff),
            )
        elif has_diabetes and rng.random() < 0.55:
            Goal.objects.create(
                patient=patient,
                text=rng.choice(WHAT_MATTERS_DIABETES),
                measurement_type=self.types["hba1c"],
                target_low=Decimal(48),
                target_high=Decimal(58),
                review_on=(self.now + datetime.timedelta(days=rng.randint(-20, 120))).date(),
                status=GoalStatus.ACTIVE,
                created_by=rng.choice(staff),
            )
        if has_dementia and rng.random() < 0.6:
            Goal.objects.create(
                patient=patient,
                text=rng.choice(WHAT_MATTERS_DEMENTIA),
                review_on=(self.now + datetime.timedelta(days=rng.randint(10, 150))).date(),
                created_by=rng.choice(staff),
            )
        # The goals were set when the citizen started, not when the demo was made.
        patient.goals.update(created_at=since)
        encounters, measurements, actions = [], [], []
        moment = since
        last_lab = {}
        while moment < end:
            professional = rng.choice(staff)
            kind = rng.choices(list(EncounterKind), weights=[50, 10, 20 if has_dementia else 3, 15, 5])[0]
            started = moment.replace(hour=rng.randint(8, 15), minute=rng.choice([0, 15, 30, 45]))
            if started >= self.now:
                break
            years = (started - since).days / 365
            dementia_focus = has_dementia and (not has_diabetes or rng.random() < 0.5)
            encounter = Encounter(
                patient=patient,
                professional=professional,
                kind=kind,
                started_at=started,
                duration_minutes=rng.choice([20, 30, 45, 60]),
                note=rng.choice(NOTES_DEMENTIA if dementia_focus else NOTES_DIABETES),
                what_matters=rng.choice(WHAT_MATTERS_DEMENTIA if dementia_focus else WHAT_MATTERS_DIABETES)
                if rng.random() < 0.6
                else "",
                signed_at=started + datetime.timedelta(minutes=rng.randint(40, 300)),
                caregiver_present=has_dementia and rng.random() < 0.45,
            )
            if encounter.signed_at > self.now:
                encounter.signed_at = None if rng.random() < 0.5 else self.now
            encounters.append(encounter)
            values = []
            if has_diabetes and (started - last_lab.get("hba1c", since - datetime.timedelta(days=999))).days > 80:
                values.append(("hba1c", max(30, min(140, hba1c + hba1c_drift * years + rng.gauss(0, 3)))))
                last_lab["hba1c"] = started
                values.append(("weight", weight - 1.5 * years + rng.gauss(0, 1)))
                values.append(("systolic_bp", systolic + rng.gauss(0, 8)))
                values.append(("diastolic_bp", systolic * 0.58 + rng.gauss(0, 5)))
            if has_diabetes and (started - last_lab.get("annual", since - datetime.timedelta(days=999))).days > 330:
                values.append(("ldl", max(0.8, rng.gauss(2.6, 0.7))))
                values.append(("urine_acr", max(0.2, rng.lognormvariate(0.5, 0.9))))
                if rng.random() < 0.85:
                    values.append(("foot_exam", "abnormal" if rng.random() < 0.12 else "normal"))
                if rng.random() < 0.7:
                    values.append(("eye_screening", "abnormal" if rng.random() < 0.08 else "normal"))
                last_lab["annual"] = started
            if has_dementia and (started - last_lab.get("mmse", since - datetime.timedelta(days=999))).days > 170:
                values.append(("mmse", max(0, min(30, round(mmse - rng.uniform(1, 3) * years + rng.gauss(0, 1))))))
                last_lab["mmse"] = started
            measurements.append((encounter, values))
            if rng.random() < 0.45:
                actions.append((encounter, rng.choice(ACTIONS_DEMENTIA if dementia_focus else ACTIONS_DIABETES)))
            moment = started + datetime.timedelta(days=rng.randint(35, 80))
        Encounter.objects.bulk_create(encounters)
        rows = []
        for encounter, values in measurements:
            for code, value in values:
                mt = self.types[code]
                is_result = isinstance(value, str)
                rows.append(
                    Measurement(
                        patient=patient,
                        type=mt,
                        encounter=encounter,
                        source=MeasurementSource.ENCOUNTER,
                        measured_at=encounter.started_at,
                        recorded_by=encounter.professional,
                        value=None if is_result else Decimal(str(round(value, mt.decimal_places))),
                        result=value if is_result else "",
                    )
                )
        Measurement.objects.bulk_create(rows)
        AgreedAction.objects.bulk_create(AgreedAction(encounter=e, text=text) for e, text in actions)
