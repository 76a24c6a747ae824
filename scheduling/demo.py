"""The demo centre's calendar, on top of the patients and coordination demo: rooms, the Danish public
holidays, four weeks of history and four weeks ahead for every professional, and two running group
courses with their attendance, so that "My day" is full on the first login. Behind the four weeks, a
year of thinner history for the manager's dashboard: the history's own encounters as the appointments
they were booked as (some citizens missed a time first, some cancelled one), and three finished
courses, so that OPS-NO-SHOW and OPS-COURSE-COMPLETION have a run chart.

Everything is written through the scheduling services (and the encounter services), at the day or
moment it happened: an appointment is booked on a day before it took place, a past one is then
attended (an encounter logged from it, signed after the meeting and linked), missed or cancelled
with a reason. An older encounter of the patients demo's history is booked at its own time with its
own professional, then linked and marked attended (appointment_link_encounter, appointment_attended),
as if it had been logged from that appointment. The services refuse a clash; the seeding chooses free
slots, so none is refused.
Rooms and holidays have no service (the administrator keeps them in the admin); they are made like
the admin would. Deterministic (seeded): the same centre for the same day, every run."""

import dataclasses
import datetime
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from healthcenter.models import Profession, Role, Team, User
from patients.demo import DEMENTIA_TEAM, NORTH, TEAMS
from patients.models import ConditionKind, Encounter, EncounterKind, Patient, PatientStatus, Programme, Relative
from patients.services import EncounterData, encounter_create, encounter_sign

from . import courses, services
from .models import Appointment, CourseStatus, Holiday, Reservation, Room

# (name, where, seats)
ROOMS = [
    ("Samtalerum 1", "Stuen, Sundhedshuset", 3),
    ("Samtalerum 2", "Stuen, Sundhedshuset", 3),
    ("Samtalerum 3", "1. sal, Sundhedshuset", 3),
    ("Samtalerum 4", "1. sal, Sundhedshuset", 3),
    ("Samtalerum 5", "1. sal, Sundhedshuset", 4),
    ("Samtalerum 6", "1. sal, Sundhedshuset", 4),
    ("Undervisningslokalet", "2. sal, Sundhedshuset", 14),
    ("Træningssalen", "Kælderen, Sundhedshuset", 10),
    ("Undervisningskøkkenet", "Stuen, Sundhedshuset", 8),
]
CONVERSATION_ROOMS = [name for name, _where, _seats in ROOMS if name.startswith("Samtalerum")]
# The rooms a profession prefers for its individual conversations, before the conversation rooms.
OWN_ROOMS = {Profession.PHYSIOTHERAPIST: ["Træningssalen"], Profession.DIETITIAN: ["Undervisningskøkkenet"]}

DAY_STARTS = datetime.time(8)
DAY_ENDS = datetime.time(15, 30)
# Fifteen minutes between two meetings: time to write the note (or drive to the next home visit).
BREAK = datetime.timedelta(minutes=15)
NO_MARGIN = datetime.timedelta(0)


@dataclass(frozen=True)
class Purpose:
    text: str
    kind: str
    notes: tuple[str, ...]
    # A relative takes part (the encounter says so: DEM-CAREGIVER-CONTACT counts it).
    caregiver: bool = False


IND, HOME, PHONE, VIDEO = EncounterKind.INDIVIDUAL, EncounterKind.HOME_VISIT, EncounterKind.PHONE, EncounterKind.VIDEO

DIABETES_PURPOSES = {
    Profession.NURSE: [
        Purpose("HbA1c-kontrol", IND, ("Blodprøve taget; svaret kommer fra laboratoriet. Gennemgået hjemmemålinger.",)),
        Purpose("Opfølgning på fodstatus", IND, ("Fødderne set. Ingen sår; huden tør på hælene. Råd om fodcreme.",)),
        Purpose("Årsstatus for diabetes", IND, ("Årsstatus gennemgået: blodtryk, vægt, medicin og screeninger.",)),
        Purpose("Samtale om opstart af insulin", IND, ("Vist pen og nål. Borger øver sig hjemme; ringer ved tvivl.",)),
        Purpose("Medicingennemgang", IND, ("Medicinlisten gennemgået med borger. Tager medicinen som ordineret.",)),
        Purpose(
            "Opfølgning efter indlæggelse", HOME, ("Hjemmebesøg efter udskrivelse. Borger er træt, men klarer sig.",)
        ),
        Purpose("Svar på blodprøver", PHONE, ("Svar givet i telefonen. Borger tilfreds; fortsætter uændret.",)),
        Purpose("Telefonopfølgning på blodsukker", PHONE, ("Hjemmemålingerne er faldet lidt. Aftalt ny samtale.",)),
    ],
    Profession.DIETITIAN: [
        Purpose("Kostvejledning", IND, ("Kostdagbog gennemgået. Fokus på morgenmad og færre søde drikke.",)),
        Purpose("Opfølgning på vægtmål", IND, ("Vægten er faldet lidt siden sidst. Borger er motiveret.",)),
        Purpose("Kulhydrattælling", IND, ("Øvet kulhydrattælling med borgerens egne måltider.",)),
        Purpose("Madplan til hverdagen", VIDEO, ("Videosamtale om madplan for ugen; datter deltog fra sin telefon.",)),
        Purpose("Opfølgning på kostændringer", PHONE, ("Borger holder fast i de nye vaner; svært i weekenden.",)),
    ],
    Profession.PHYSIOTHERAPIST: [
        Purpose("Træningsplan og opfølgning", IND, ("Træningsprogrammet justeret; borger kan nu gå 20 minutter.",)),
        Purpose("Test af gangfunktion", IND, ("Gangtest gennemført. Bedre balance end ved sidste test.",)),
        Purpose("Opstart af træning", IND, ("Gennemgået øvelser til hjemmet; udleveret elastik.",)),
        Purpose("Opfølgning på fysisk aktivitet", PHONE, ("Borger går tur tre gange om ugen. Aftalt at øge til fem.",)),
    ],
    Profession.DOCTOR: [
        Purpose("Lægesamtale om medicin", IND, ("Medicin gennemgået; ingen ændringer. Blodtryk pænt.",)),
        Purpose("Gennemgang af blodprøver", IND, ("Blodprøver gennemgået med borger. Nyrefunktion stabil.",)),
        Purpose("Svar på blodprøver", PHONE, ("Svar givet. Ingen ændringer i behandlingen.",)),
    ],
}
DEMENTIA_PURPOSES = {
    Profession.NURSE: [
        Purpose("Opfølgning på hukommelse", IND, ("Samtale om hverdagen; mere glemsom med aftaler, men klarer sig.",)),
        Purpose("MMSE-test", IND, ("Test gennemført. Orienteret i tid og sted; svært ved genkaldelse.",)),
        Purpose("Medicingennemgang", HOME, ("Hjemmebesøg. Medicinen doseres nu i æske af ægtefælle.",), caregiver=True),
        Purpose("Telefonopfølgning", PHONE, ("Borger har det godt; sover bedre efter nye rutiner.",)),
    ],
    Profession.OCCUPATIONAL_THERAPIST: [
        Purpose("Hjælpemidler i hjemmet", HOME, ("Set på badeværelset; bestilt badebænk og greb.",)),
        Purpose("Vurdering af daglige aktiviteter", HOME, ("Borger klarer morgenmad selv; hjælp til indkøb.",)),
        Purpose(
            "Opfølgning på boligindretning", HOME, ("Tæpper fjernet; bedre lys i gangen. Ingen fald siden sidst.",)
        ),
        Purpose("Samtale om struktur i hverdagen", IND, ("Lavet ugeplan på tavle sammen med borger.",)),
    ],
    Profession.DEMENTIA_COORDINATOR: [
        Purpose("Samtale med datter om aflastning", IND, ("Datter er presset; drøftet aflastning.",), caregiver=True),
        Purpose("Pårørendesamtale", HOME, ("Ægtefælle er træt; drøftet pårørendegruppe.",), caregiver=True),
        Purpose("Opfølgning på aflastningstilbud", PHONE, ("Aflastning fungerer; borger glad for dagcentret.",)),
        Purpose("Samtale om dagtilbud", IND, ("Borger vil gerne prøve dagcentret en dag om ugen.",), caregiver=True),
        Purpose("Opfølgende hjemmebesøg", HOME, ("Borger er glad og genkender os. Hjemmet fungerer.",)),
    ],
    Profession.DOCTOR: [
        Purpose("Lægesamtale om demensmedicin", IND, ("Tåler medicinen; lidt kvalme om morgenen. Fortsætter.",)),
        Purpose("Gennemgang af udredning", IND, ("Gennemgået udredningen med borger og søn.",), caregiver=True),
    ],
    Profession.DIETITIAN: [
        Purpose("Vægttab og måltider", HOME, ("Borger glemmer frokosten; aftalt madservice tre dage om ugen.",)),
        Purpose("Opfølgning på vægt", PHONE, ("Vægten er stabil efter madservice.",)),
    ],
}
CANCEL_REASONS_CITIZEN = [
    "Borger er syg og har ringet afbud.",
    "Borger er indlagt; ny tid aftales efter udskrivelse.",
    "Datter kan ikke køre borger denne dag.",
    "Borger er på ferie.",
]
CANCEL_REASONS_CENTRE = [
    "Medarbejder er syg.",
    "Medarbejder er på kursus; borger har fået ny tid.",
]

# The share of a past day's appointments that were attended, missed and cancelled.
ATTENDED_SHARE, MISSED_SHARE = 0.85, 0.08
# The share of the coming weeks' appointments already cancelled.
FUTURE_CANCELLED_SHARE = 0.03
# The older history's monthly no-show share varies around this (sd), within the bounds; cancellations too.
OLDER_MISSED_SHARE, OLDER_MISSED_SD, OLDER_MISSED_BOUNDS = 0.08, 0.018, (0.045, 0.12)
OLDER_CANCELLED_SHARE = 0.06
# The older history books at most this many of a professional's encounters a day (the rest stay
# encounters without an appointment, as if logged without one).
OLDER_PER_DAY = (1, 2)
# What an older encounter was booked as, when the professional's purposes have nothing of its kind.
OLDER_PURPOSES = {
    IND: "Opfølgende samtale",
    HOME: "Hjemmebesøg",
    PHONE: "Telefonopfølgning",
    VIDEO: "Videosamtale",
}


@dataclass
class CalendarSummary:
    appointments: int = 0
    attended: int = 0
    missed: int = 0
    cancelled: int = 0
    # Of those, the older history's (behind the four weeks), by its own count.
    older: int = 0
    courses: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    # Courses the centre's teams could not fill (a demo too small), by name.
    missing: list[str] = field(default_factory=list)


# --- rooms and holidays ---------------------------------------------------------------------------------


def easter_sunday(year: int) -> datetime.date:
    """Easter Sunday of the Gregorian calendar (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * j) // 433
    month = (h + j - 7 * m + 90) // 25
    day = (h + j - 7 * m + 33 * month + 19) % 32
    return datetime.date(year, month, day)


def danish_holidays(year: int) -> list[tuple[datetime.date, str]]:
    """The days a Danish municipal centre is closed (store bededag is no holiday since 2024)."""
    easter = easter_sunday(year)
    moving = [
        (-3, "Skærtorsdag"),
        (-2, "Langfredag"),
        (0, "Påskedag"),
        (1, "2. påskedag"),
        (39, "Kristi himmelfartsdag"),
        (49, "Pinsedag"),
        (50, "2. pinsedag"),
    ]
    fixed = [
        (1, 1, "Nytårsdag"),
        (6, 5, "Grundlovsdag"),
        (12, 24, "Juleaftensdag"),
        (12, 25, "1. juledag"),
        (12, 26, "2. juledag"),
        (12, 31, "Nytårsaftensdag"),
    ]
    days = [(easter + datetime.timedelta(days=offset), name) for offset, name in moving]
    days += [(datetime.date(year, month, day), name) for month, day, name in fixed]
    return sorted(days)


def seed_rooms() -> dict[str, Room]:
    rooms = {}
    for name, where, seats in ROOMS:
        rooms[name] = Room.objects.get_or_create(name=name, defaults={"location": where, "capacity": seats})[0]
    return rooms


def seed_holidays(years: Iterable[int]) -> set[datetime.date]:
    for year in years:
        for day, name in danish_holidays(year):
            Holiday.objects.get_or_create(day=day, defaults={"name": name})
    return set(Holiday.objects.values_list("day", flat=True))


# --- the calendar ------------------------------------------------------------------------------------------


class Busy:
    """Who and what is taken when, in memory and by day, so that the seeding only asks the services
    for free slots. Starts from the reservations already in the database (the courses' sessions)."""

    def __init__(self, first: datetime.datetime, last: datetime.datetime):
        self.first, self.last = first, last
        self.taken: dict[tuple, list[tuple[datetime.datetime, datetime.datetime]]] = defaultdict(list)
        for r in Reservation.objects.filter(during__overlap=DateTimeTZRange(first, last)):
            key = ("professional", r.professional_id) if r.professional_id else ("room", r.room_id)
            self.take(key, r.during.lower, r.during.upper)

    def free(self, key: tuple[str, int], start: datetime.datetime, end: datetime.datetime, margin=BREAK) -> bool:
        taken = self.taken[(*key, timezone.localdate(start))]
        return all(end + margin <= s or e + margin <= start for s, e in taken)

    def take(self, key: tuple[str, int], start: datetime.datetime, end: datetime.datetime) -> None:
        self.taken[(*key, timezone.localdate(start))].append((start, end))


@dataclass
class Planned:
    professional: User
    patient: Patient
    purpose: Purpose
    data: services.AppointmentData


class CalendarSeeder:
    def __init__(
        self,
        *,
        now: datetime.datetime | None = None,
        days_back: int = 28,
        days_ahead: int = 28,
        months_back: int = 12,
        seed=13,
    ):
        """The calendar from `days_back` days before `now`'s day to `days_ahead` after it (the tests
        seed a few days; the demo four weeks each way), and the thinner older history from
        `months_back` months before `now` up to the first of those days (0: none)."""
        self.rng = random.Random(seed)  # noqa: S311 - a repeatable demo, not a secret
        self.tz = timezone.get_current_timezone()
        self.now = (now or timezone.now()).replace(second=0, microsecond=0)
        self.today = timezone.localdate(self.now)
        self.first_day = self.today - datetime.timedelta(days=days_back)
        self.last_day = self.today + datetime.timedelta(days=days_ahead)
        self.older_from = (self.today - datetime.timedelta(days=round(months_back * 30.44))) if months_back else None
        self.summary = CalendarSummary()

    def at(self, day: datetime.date, time: datetime.time) -> datetime.datetime:
        return datetime.datetime.combine(day, time, tzinfo=self.tz)

    def run(self) -> CalendarSummary:
        self.rooms = seed_rooms()
        earliest = min(self.first_day, self.older_from or self.first_day) - datetime.timedelta(days=500)
        years = range(min(2025, earliest.year), max(2027, self.last_day.year + 1) + 1)
        self.holidays = seed_holidays(years)
        # The citizens the history has lost from follow-up (no contact in the eight weeks the care gap
        # "Ingen kontakt i 8 uger" allows) stay lost: they are booked ahead (so the worklist shows the
        # gap as booked), but have met no one in the calendar's past and sit on no course.
        in_contact = Encounter.objects.filter(
            signed_at__isnull=False, started_at__gte=self.now - datetime.timedelta(weeks=8)
        ).values_list("patient_id", flat=True)
        self.lost = set(Patient.objects.filter(status=PatientStatus.ACTIVE).values_list("pk", flat=True)) - set(
            in_contact
        )
        self._courses()
        self._appointments()
        if self.older_from is not None:
            self._older_history()
        return self.summary

    def working_days(self) -> list[datetime.date]:
        """Weekdays that are not holidays; today always, so that My day is never empty in the demo."""
        days, day = [], self.first_day
        while day <= self.last_day:
            if day == self.today or (day.weekday() < 5 and day not in self.holidays):
                days.append(day)
            day += datetime.timedelta(days=1)
        return days

    # --- appointments -------------------------------------------------------------------------------------

    def _appointments(self) -> None:
        professionals = list(
            User.objects.filter(role=Role.PROFESSIONAL, is_active=True, teams__isnull=False)
            .distinct()
            .prefetch_related("teams")
            .order_by("username")
        )
        citizens = list(Patient.objects.filter(status=PatientStatus.ACTIVE).select_related("team").order_by("id"))
        by_team, by_professional = defaultdict(list), defaultdict(list)
        for patient in citizens:
            by_team[patient.team_id].append(patient)
            by_professional[patient.responsible_professional_id].append(patient)
        # A conversation with a relative is had only with citizens who have a primary caregiver.
        self.with_caregiver = set(
            Relative.objects.filter(is_primary_caregiver=True, patient__in=citizens).values_list(
                "patient_id", flat=True
            )
        )
        self.busy = Busy(self.at(self.first_day, DAY_STARTS), self.at(self.last_day, DAY_ENDS))
        self.seen_on: dict[int, set[datetime.date]] = defaultdict(set)
        # A course participant is not booked for anything else near a session day.
        for patient_id, starts_at in Appointment.objects.filter(
            session__isnull=False, starts_at__range=(self.busy.first, self.busy.last)
        ).values_list("patient_id", "starts_at"):
            self.seen_on[patient_id].add(timezone.localdate(starts_at))
            self.busy.take(("patient", patient_id), starts_at, starts_at + datetime.timedelta(hours=2))
        # Today first, so that My day is full whoever else the days around it took.
        for day in sorted(self.working_days(), key=lambda d: d != self.today):
            for professional in professionals:
                team = min(professional.teams.all(), key=lambda t: t.pk)
                if not by_team[team.pk]:
                    continue
                pools = (
                    [p for p in by_professional[professional.pk] if p.team_id == team.pk],
                    by_team[team.pk],
                )
                count = self.rng.randint(4, 6) if day == self.today else self.rng.randint(3, 6)
                for planned in self._day(professional, team.name, day, count, pools):
                    self._book_and_close(planned)

    def _purposes(self, professional: User, team_name: str) -> list[Purpose]:
        table = DEMENTIA_PURPOSES if team_name == TEAMS[DEMENTIA_TEAM] else DIABETES_PURPOSES
        return table.get(professional.profession) or table[Profession.NURSE]

    def _day(self, professional, team_name, day, count, pools) -> list[Planned]:
        """`count` appointments in the professional's free time that day, with citizens from `pools`
        (their own caseload, the team's citizens)."""
        busy = self.busy
        rng = self.rng
        purposes = self._purposes(professional, team_name)
        starts = [
            self.at(day, datetime.time(hour, minute))
            for hour in range(DAY_STARTS.hour, DAY_ENDS.hour + 1)
            for minute in (0, 30)
        ]
        rng.shuffle(starts)
        planned: list[Planned] = []
        me = ("professional", professional.pk)
        # Each time is tried again with another purpose (a call needs no room) if the first did not fit.
        for start in starts * 3:
            if len(planned) == count:
                break
            purpose = rng.choice(purposes)
            minutes = 30 if purpose.kind in (PHONE, VIDEO) else rng.choice([30, 45, 45, 60, 60])
            end = start + datetime.timedelta(minutes=minutes)
            if end > self.at(day, DAY_ENDS) or not busy.free(me, start, end):
                continue
            patient = self._citizen(day, (start, end), pools, purpose.caregiver)
            if patient is None:
                continue
            kind, room = purpose.kind, None
            if kind == IND:
                preferred = OWN_ROOMS.get(professional.profession, []) + rng.sample(
                    CONVERSATION_ROOMS, len(CONVERSATION_ROOMS)
                )
                room = next(
                    (self.rooms[n] for n in preferred if busy.free(("room", self.rooms[n].pk), start, end, NO_MARGIN)),
                    None,
                )
                if room is None:
                    continue
                busy.take(("room", room.pk), start, end)
            busy.take(me, start, end)
            self.seen_on[patient.pk].add(day)
            busy.take(("patient", patient.pk), start, end)
            place = {IND: "room", HOME: "home"}.get(kind, "remote")
            planned.append(
                Planned(
                    professional,
                    patient,
                    purpose,
                    services.AppointmentData(
                        kind=kind,
                        starts_at=start,
                        ends_at=end,
                        place=place,
                        professionals=[professional],
                        room=room,
                        purpose=purpose.text,
                    ),
                )
            )
        return planned

    def _citizen(self, day, during, pools, caregiver: bool) -> Patient | None:
        """Mostly the professional's own caseload; a citizen not met within three days if one can be
        found, else (a small team) one who is free at the time."""
        own, team_citizens = pools
        for attempt in range(24):
            pool = own if own and self.rng.random() < 0.7 else team_citizens
            patient = self.rng.choice(pool)
            if caregiver and patient.pk not in self.with_caregiver:
                continue
            if day < self.today and patient.pk in self.lost:
                continue
            if attempt < 12:
                if all(abs((day - other).days) > 3 for other in self.seen_on[patient.pk]):
                    return patient
            elif self.busy.free(("patient", patient.pk), *during):
                return patient
        return None

    def _book_and_close(self, planned: Planned) -> None:
        rng, data, actor = self.rng, planned.data, planned.professional
        day = timezone.localdate(data.starts_at)
        booked_on = min(self.today, day - datetime.timedelta(days=rng.randint(2, 28)))
        appointment = services.appointment_book(actor=actor, patient=planned.patient, data=data, today=booked_on)
        self.summary.appointments += 1
        booked_at = self.at(booked_on, datetime.time(8))
        if day >= self.today:
            if day > self.today and rng.random() < FUTURE_CANCELLED_SHARE:
                self._cancel(appointment, actor, booked_at, min(self.now, data.starts_at))
            return
        chance = rng.random()
        if chance < ATTENDED_SHARE:
            self._attend(planned, appointment)
        elif chance < ATTENDED_SHARE + MISSED_SHARE:
            services.appointment_did_not_attend(
                actor=actor,
                appointment=appointment,
                expected_version=appointment.version,
                now=data.starts_at + datetime.timedelta(minutes=15),
            )
            self.summary.missed += 1
        else:
            self._cancel(appointment, actor, booked_at, data.starts_at - datetime.timedelta(hours=1))

    def _cancel(self, appointment, actor, earliest: datetime.datetime, latest: datetime.datetime) -> None:
        by_citizen = self.rng.random() < 0.7
        moment = earliest + (latest - earliest) * self.rng.random()
        services.appointment_cancel(
            actor=actor,
            appointment=appointment,
            expected_version=appointment.version,
            by_citizen=by_citizen,
            reason=self.rng.choice(CANCEL_REASONS_CITIZEN if by_citizen else CANCEL_REASONS_CENTRE),
            now=moment.replace(second=0, microsecond=0),
        )
        self.summary.cancelled += 1

    def _attend(self, planned: Planned, appointment) -> None:
        """The professional logs the encounter from the appointment and signs it between ten minutes
        and four hours after the meeting; the signature marks the appointment attended."""
        data, actor = planned.data, planned.professional
        minutes = int((data.ends_at - data.starts_at).total_seconds() // 60)
        encounter = encounter_create(
            actor=actor,
            patient=planned.patient,
            data=EncounterData(
                kind=data.kind,
                started_at=data.starts_at,
                duration_minutes=minutes,
                note=f"{planned.purpose.text}. {self.rng.choice(planned.purpose.notes)}",
                caregiver_present=planned.purpose.caregiver,
            ),
            sign=False,
        )
        services.appointment_link_encounter(actor=actor, appointment=appointment, encounter=encounter)
        signed_at = min(self.now, data.ends_at + datetime.timedelta(minutes=self.rng.randint(10, 240)))
        encounter_sign(actor=actor, encounter=encounter, expected_version=encounter.version, at=signed_at)
        services.appointment_attended(actor=actor, encounter=encounter)
        self.summary.attended += 1

    # --- the older history ------------------------------------------------------------------------------

    def _older_history(self) -> None:
        """The months behind the four weeks, thinner: the patients demo's own signed encounters (not
        group sessions) within working hours, by a professional of the citizen's team, at most one or
        two a day each, booked at their time some weeks before, then linked and marked attended. Some
        citizens missed a time (or cancelled one) a week or three before the meeting that did happen,
        which was booked on the day of the miss; each month has its own no-show share around 8 %."""
        rng = self.rng
        start, end = self.at(self.older_from, datetime.time(0)), self.at(self.first_day, datetime.time(0))
        teams_of: dict[int, set[int]] = defaultdict(set)
        for user_id, team_id in User.teams.through.objects.values_list("user_id", "team_id"):
            teams_of[user_id].add(team_id)
        encounters = (
            Encounter.objects.filter(
                started_at__gte=start,
                started_at__lt=end,
                signed_at__isnull=False,
                appointment__isnull=True,
                patient__status=PatientStatus.ACTIVE,
                professional__role=Role.PROFESSIONAL,
                professional__is_active=True,
            )
            .exclude(kind=EncounterKind.GROUP)
            .select_related("patient__team", "professional")
            .order_by("started_at", "id")
        )
        busy = Busy(start - datetime.timedelta(days=1), end)
        shares: dict[tuple[int, int], tuple[float, float]] = {}
        per_day: dict[tuple[int, datetime.date], int] = {}
        for encounter in encounters:
            professional, patient = encounter.professional, encounter.patient
            begins = timezone.localtime(encounter.started_at)
            day = begins.date()
            ends = encounter.started_at + datetime.timedelta(minutes=encounter.duration_minutes)
            if (
                patient.team_id not in teams_of[professional.pk]
                or day.weekday() >= 5
                or day in self.holidays
                or begins.time() < DAY_STARTS
                or ends > self.at(day, DAY_ENDS)
            ):
                continue
            cap = OLDER_PER_DAY[0] if rng.random() < 0.5 else OLDER_PER_DAY[1]
            if per_day.get((professional.pk, day), 0) >= cap:
                continue
            attended = self._older_planned(busy, encounter, encounter.started_at, ends, margin=NO_MARGIN)
            if attended is None:
                continue
            per_day[(professional.pk, day)] = per_day.get((professional.pk, day), 0) + 1
            month = (day.year, day.month)
            if month not in shares:
                low, high = OLDER_MISSED_BOUNDS
                missed = min(high, max(low, rng.gauss(OLDER_MISSED_SHARE, OLDER_MISSED_SD)))
                shares[month] = (missed, max(0.02, rng.gauss(OLDER_CANCELLED_SHARE, 0.015)))
            missed_share, cancelled_share = shares[month]
            chance = rng.random()
            # q misses for every meeting held makes a share q / (1 + q) of those held or missed.
            missed_chance = missed_share / (1 - missed_share)
            booked_on = day - datetime.timedelta(days=rng.randint(7, 35))
            if chance < missed_chance + cancelled_share:
                before = self._older_before(busy, encounter, day)
                if before is not None:
                    if chance < missed_chance:
                        before_day = timezone.localdate(before.data.starts_at)
                        appointment = self._older_book(before, before_day - datetime.timedelta(days=rng.randint(3, 21)))
                        services.appointment_did_not_attend(
                            actor=professional,
                            appointment=appointment,
                            expected_version=appointment.version,
                            now=before.data.starts_at + datetime.timedelta(minutes=15),
                        )
                        self.summary.missed += 1
                    else:
                        appointment = self._older_book(before, day - datetime.timedelta(days=rng.randint(21, 40)))
                        moment = before.data.starts_at - datetime.timedelta(hours=rng.randint(2, 72))
                        self._cancel(appointment, professional, moment, moment)
                    # The meeting that did happen was booked when the first time fell through.
                    booked_on = timezone.localdate(min(before.data.starts_at, appointment.status_changed_at))
            appointment = self._older_book(attended, booked_on)
            services.appointment_link_encounter(actor=professional, appointment=appointment, encounter=encounter)
            services.appointment_attended(actor=professional, encounter=encounter)
            self.summary.attended += 1

    def _older_planned(self, busy, encounter, start, end, *, margin) -> Planned | None:
        """The appointment an older encounter (or the time before it) was booked as, if the
        professional and a room are free then; taken in `busy`."""
        professional, patient = encounter.professional, encounter.patient
        me = ("professional", professional.pk)
        if not busy.free(me, start, end, margin):
            return None
        kind, room = encounter.kind, None
        if kind == IND:
            preferred = OWN_ROOMS.get(professional.profession, []) + self.rng.sample(
                CONVERSATION_ROOMS, len(CONVERSATION_ROOMS)
            )
            room = next(
                (self.rooms[n] for n in preferred if busy.free(("room", self.rooms[n].pk), start, end, NO_MARGIN)),
                None,
            )
            if room is None:
                return None
            busy.take(("room", room.pk), start, end)
        busy.take(me, start, end)
        fitting = [
            p
            for p in self._purposes(professional, patient.team.name)
            if p.kind == kind and p.caregiver == encounter.caregiver_present
        ]
        purpose = self.rng.choice(fitting) if fitting else Purpose(OLDER_PURPOSES[kind], kind, ("",))
        data = services.AppointmentData(
            kind=kind,
            starts_at=start,
            ends_at=end,
            place={IND: "room", HOME: "home"}.get(kind, "remote"),
            professionals=[professional],
            room=room,
            purpose=purpose.text,
        )
        return Planned(professional, patient, purpose, data)

    def _older_before(self, busy, encounter, day) -> Planned | None:
        """A free time with the same professional a week or three before the encounter's day."""
        minutes = datetime.timedelta(minutes=encounter.duration_minutes)
        for _attempt in range(8):
            other = day - datetime.timedelta(days=self.rng.randint(7, 21))
            if other < self.older_from or other.weekday() >= 5 or other in self.holidays:
                continue
            begins = self.at(other, datetime.time(self.rng.randint(8, 14), self.rng.choice([0, 30])))
            if begins + minutes > self.at(other, DAY_ENDS):
                continue
            planned = self._older_planned(busy, encounter, begins, begins + minutes, margin=BREAK)
            if planned is not None:
                return planned
        return None

    def _older_book(self, planned: Planned, booked_on: datetime.date):
        appointment = services.appointment_book(
            actor=planned.professional, patient=planned.patient, data=planned.data, today=booked_on
        )
        self.summary.appointments += 1
        self.summary.older += 1
        return appointment

    # --- courses -------------------------------------------------------------------------------------------

    def _courses(self) -> None:
        """The running courses, the next cohort, and the finished cohorts of the past year (citizens
        who took an earlier cohort are not taken again while there are others; a small demo has to)."""
        teams = {t.name: t for t in Team.objects.all()}
        diabetes, dementia = teams.get(DIABETES_SCHOOL.team), teams.get(CAREGIVER_COURSE.team)
        self.on_course: set[int] = set()
        self.waiting: set[int] = set()
        if diabetes is not None:
            citizens = self._diabetes_citizens(diabetes)
            school = self._course(DIABETES_SCHOOL, diabetes, citizens)
            self._next_cohort(school)
            for plan in FINISHED_DIABETES_SCHOOLS:
                self._course(plan, diabetes, citizens)
        if dementia is not None:
            citizens = self._caregiver_citizens(dementia)
            self._course(CAREGIVER_COURSE, dementia, citizens)
            for plan in FINISHED_CAREGIVER_COURSES:
                self._course(plan, dementia, citizens)

    def _diabetes_citizens(self, team) -> list[Patient]:
        """Citizens of the team with diabetes, those referred to the diabetes school first."""
        with_diabetes = Patient.objects.filter(
            team=team,
            status=PatientStatus.ACTIVE,
            conditions__kind__in=[ConditionKind.DIABETES_TYPE_1, ConditionKind.DIABETES_TYPE_2],
        ).distinct()
        referred = set(
            with_diabetes.filter(
                enrolments__programme__code=DIABETES_SCHOOL.programme, enrolments__end_on__isnull=True
            ).values_list("pk", flat=True)
        )
        return sorted((p for p in with_diabetes if p.pk not in self.lost), key=lambda p: (p.pk not in referred, p.pk))

    def _caregiver_citizens(self, team) -> list[Patient]:
        """Citizens with dementia in caregiver support whose primary caregiver takes the course."""
        return [
            patient
            for patient in Patient.objects.filter(
                team=team,
                status=PatientStatus.ACTIVE,
                relatives__is_primary_caregiver=True,
                enrolments__programme__code=CAREGIVER_COURSE.programme,
                enrolments__end_on__isnull=True,
            )
            .distinct()
            .order_by("pk")
            if patient.pk not in self.lost
        ]

    def _course(self, plan: "CoursePlan", team, citizens: list[Patient]):
        """A running course: created three weeks before its first session (some weeks ago), filled,
        its past sessions registered week by week, one participant dropping out on the way."""
        rng = self.rng
        started = self.today - datetime.timedelta(weeks=plan.weeks_ago)
        first_day = started + datetime.timedelta(days=(plan.weekday - started.weekday()) % 7)
        created_on = first_day - datetime.timedelta(weeks=3)
        coordinator = self._coordinator(team)
        teachers = [User.objects.get(username=u) for u in plan.teachers if User.objects.filter(username=u).exists()]
        teachers = teachers or list(self._professionals(team)[:2])
        # Those not on an earlier-made cohort first, then (a small demo) those who were; never one
        # waiting for the next cohort (a place on a course closes their entry).
        citizens = [p for p in citizens if p.pk not in self.on_course] + [
            p for p in citizens if p.pk in self.on_course and p.pk not in self.waiting
        ]
        # A smaller demo (the tests') fills fewer places and has fewer waiting.
        waiting = min(plan.waiting, max(0, len(citizens) - FEWEST_PARTICIPANTS))
        taken = min(plan.participants, len(citizens) - waiting)
        if coordinator is None or not teachers or taken < FEWEST_PARTICIPANTS:
            self.summary.missing.append(plan.name)
            return None
        course = courses.course_create(
            actor=coordinator,
            name=f"{plan.name}, {'forår' if first_day.month <= 6 else 'efterår'} {first_day.year}",
            programme=Programme.objects.get(code=plan.programme),
            team=team,
            room=self.rooms[plan.room],
            professionals=teachers,
            # A course with people waiting is full.
            capacity=taken if waiting else plan.capacity,
            weekday=plan.weekday,
            starts_at=plan.starts_at,
            ends_at=plan.ends_at,
            first_day=first_day,
            session_count=len(plan.topics),
            today=created_on,
        )
        joined = citizens[:taken]
        self.on_course.update(p.pk for p in citizens[: taken + waiting])
        self.waiting.update(p.pk for p in citizens[taken : taken + waiting])
        for number, patient in enumerate(joined):
            on = created_on + datetime.timedelta(days=min(number, 14))
            courses.participant_add(actor=coordinator, course=course, patient=patient, today=on)
        for patient in citizens[taken : taken + waiting]:
            courses.waiting_list_add(
                actor=coordinator,
                patient=patient,
                programme=course.programme,
                team=team,
                wanted=course,
                today=first_day - datetime.timedelta(days=rng.randint(1, 10)),
            )
        # A couple who come now and then (they will not complete), the rest nearly always.
        chance = {p.pk: 0.9 for p in joined}
        for patient in joined[-2:]:
            chance[patient.pk] = 0.55
        leavers = {}
        for number, (after, reason) in enumerate(((plan.dropout_after, plan.dropout), *plan.more_dropouts)):
            if reason and (number == 0 or len(joined) // 2 + number < len(joined) - 2):
                leavers[after + 1] = (joined[len(joined) // 2 + number], reason)
        registrar = teachers[0]
        for session in course.sessions.order_by("number"):
            end = session.ends_at + datetime.timedelta(minutes=30)
            if timezone.localdate(session.starts_at) >= self.today or end > self.now:
                break
            if session.number in leavers:
                leaver, reason = leavers[session.number]
                participant = course.participants.get(patient=leaver)
                stopped = timezone.localdate(session.starts_at) - datetime.timedelta(days=2)
                courses.participant_drop_out(
                    actor=coordinator,
                    participant=participant,
                    expected_version=participant.version,
                    on=stopped,
                    reason=reason,
                    now=self.at(stopped, datetime.time(9, 30)),
                )
            places = list(courses.session_places(session))
            attendance = [
                courses.Attendance(
                    appointment=place.public_id,
                    came=rng.random() < chance.get(place.patient_id, 0.9),
                    note=rng.choice(plan.personal_notes) if rng.random() < 0.2 else "",
                )
                for place in places
            ]
            topic = plan.topics[session.number - 1]
            courses.session_register(
                actor=registrar,
                session=session,
                expected_version=session.version,
                note=f"{topic} {rng.choice(SESSION_ENDINGS)}",
                attendance=attendance,
                now=end,
            )
        self.summary.courses.append(course.name)
        course.refresh_from_db(fields=["status"])
        if course.status == CourseStatus.FINISHED:
            self.summary.finished.append(course.name)
        return course

    def _next_cohort(self, course) -> None:
        """The next cohort, planned and still empty: those on the waiting list are offered its places."""
        if course is None:
            return
        start = self.today + datetime.timedelta(weeks=9)
        first_day = start + datetime.timedelta(days=(course.weekday - start.weekday()) % 7)
        name = f"{DIABETES_SCHOOL.name}, {'forår' if first_day.month <= 6 else 'efterår'} {first_day.year}"
        courses.course_create(
            actor=self._coordinator(course.team),
            name=name,
            programme=course.programme,
            team=course.team,
            room=course.room,
            professionals=list(course.professionals.order_by("username")),
            capacity=course.capacity,
            weekday=course.weekday,
            starts_at=course.starts_at,
            ends_at=course.ends_at,
            first_day=first_day,
            session_count=course.session_count,
            today=self.today,
        )
        self.summary.courses.append(name)

    def _coordinator(self, team) -> User | None:
        return User.objects.filter(role=Role.COORDINATOR, teams=team, is_active=True).order_by("username").first()

    def _professionals(self, team):
        return User.objects.filter(role=Role.PROFESSIONAL, teams=team, is_active=True).order_by("username")


FEWEST_PARTICIPANTS = 3


@dataclass(frozen=True)
class CoursePlan:
    name: str
    programme: str
    team: str
    teachers: tuple[str, ...]
    room: str
    weekday: int
    starts_at: datetime.time
    ends_at: datetime.time
    weeks_ago: int
    capacity: int
    participants: int
    waiting: int
    topics: tuple[str, ...]
    personal_notes: tuple[str, ...]
    dropout: str = ""
    dropout_after: int = 0
    # Further drop-outs: (after session, reason).
    more_dropouts: tuple[tuple[int, str], ...] = ()


DIABETES_SCHOOL = CoursePlan(
    name="Diabetesskole",
    programme="diabetes-course",
    team=TEAMS[NORTH],
    teachers=("sygeplejerske", "sonja.holst"),
    room="Undervisningslokalet",
    weekday=1,
    starts_at=datetime.time(10),
    ends_at=datetime.time(12),
    weeks_ago=5,
    capacity=12,
    participants=12,
    waiting=2,
    topics=(
        "Gang 1: Hvad er diabetes? Præsentation af holdet og hvad deltagerne håber at få ud af kurset.",
        "Gang 2: Blodsukker, HbA1c og hjemmemålinger. Deltagerne øvede sig på at måle.",
        "Gang 3: Mad og måltider i hverdagen, med diætisten. Kulhydrater og tallerkenmodellen.",
        "Gang 4: Fysisk aktivitet i hverdagen. Gåtur rundt om Sundhedshuset.",
        "Gang 5: Medicin og bivirkninger. Spørgsmål om insulin.",
        "Gang 6: Fødder, øjne og nyrer. Hvorfor vi screener.",
        "Gang 7: At leve med en kronisk sygdom; søvn, stress og humør.",
        "Gang 8: Opsamling. Hver deltager satte sig et mål for det næste halve år.",
    ),
    personal_notes=(
        "Havde hjemmemålinger med og delte dem med holdet.",
        "Spurgte meget; vil gerne tale videre om det ved næste samtale.",
        "Virkede træt i dag; gik lidt før tid.",
        "Fortalte om gode erfaringer med gåture.",
    ),
    dropout="Er startet i nyt job med skiftende vagter og kan ikke komme om tirsdagen. Tilbudt næste hold.",
    dropout_after=2,
)
CAREGIVER_COURSE = CoursePlan(
    name="Pårørendekursus om demens",
    programme="caregiver-support",
    team=TEAMS[DEMENTIA_TEAM],
    teachers=("demenskoordinator", "simone.lund"),
    room="Undervisningslokalet",
    weekday=3,
    starts_at=datetime.time(13),
    ends_at=datetime.time(15),
    weeks_ago=3,
    capacity=10,
    participants=8,
    waiting=0,
    topics=(
        "Gang 1: Hvad er demens? Sygdommene og deres forløb.",
        "Gang 2: Kommunikation med en, der har demens.",
        "Gang 3: Hverdagen, faste rutiner og aktiviteter.",
        "Gang 4: Aflastning, hjælp og rettigheder i kommunen.",
        "Gang 5: Når man selv bliver træt: egne grænser som pårørende.",
        "Gang 6: Opsamling og netværk efter kurset.",
    ),
    personal_notes=(
        "Datteren deltog; fortalte om urolige nætter derhjemme.",
        "Ægtefællen deltog og vil gerne i pårørendegruppen bagefter.",
        "Sønnen kom direkte fra arbejde og gik lidt før tid.",
    ),
)
# The cohorts of the past year, finished: every session registered (OPS-COURSE-COMPLETION's history).
FINISHED_DIABETES_SCHOOLS = [
    dataclasses.replace(
        DIABETES_SCHOOL,
        weeks_ago=43,
        waiting=0,
        dropout="Har fået en ny hofte og kan ikke komme de næste måneder. Vil gerne på et senere hold.",
        dropout_after=3,
        more_dropouts=((1, "Synes ikke, kurset er noget for ham; vil hellere tale med sygeplejersken alene."),),
    ),
    dataclasses.replace(
        DIABETES_SCHOOL,
        weeks_ago=64,
        participants=10,
        waiting=0,
        dropout="Passer sit barnebarn om tirsdagen efter sommerferien.",
        dropout_after=4,
    ),
]
FINISHED_CAREGIVER_COURSES = [
    dataclasses.replace(
        CAREGIVER_COURSE,
        weeks_ago=35,
        participants=8,
        dropout="Ægtefællen er flyttet på plejehjem; datteren magter ikke kurset lige nu.",
        dropout_after=2,
    ),
]
SESSION_ENDINGS = [
    "God stemning og mange spørgsmål.",
    "Livlig snak på holdet; deltagerne deler erfaringer.",
    "Lidt stille gang; vi tager emnet op igen næste gang.",
    "Deltagerne fik materiale med hjem.",
]


def seed_calendar(*, now: datetime.datetime | None = None) -> CalendarSummary:
    """The demo's rooms, holidays, appointments and courses (see the module's docstring)."""
    return CalendarSeeder(now=now).run()
