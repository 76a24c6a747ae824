"""The large demo profile (`seed_demo --profile large`): a municipality-sized centre of 50,000
citizens in 15 teams with 300 professionals, written in bulk for the benchmark of issue 11.

Each citizen's life is the small demo's (patients.demo.Seeder decides it: conditions, enrolments,
consents, relatives, goals, encounters and measurements with their trends, team moves, drafts),
so the figures show the same stories. The centre is four districts of four teams each; every
district's teams work like the demo's four (TEAM_PROFILES by slot: Nord steady, Syd the outlier,
the dementia team, Vest with its routine change), and the two smaller districts share one
dementia team, which makes 15 teams. Staff per team follow the teams' expected caseloads.

Two things differ from the demo, to reach the issue's volumes (about 1,000,000 encounters and
3,000,000 measurements for 50,000 citizens; the demo's rates would give 800,000 and 1,430,000):
- The records reach back 18 months further (EXTRA_HISTORY_DAYS: about five and a half years
  instead of four), as in a centre whose record system has been in use longer than the dashboard
  looks back: about 20 encounters a citizen instead of 16. The citizens are the same (those still
  followed when the dashboard's months begin, or arriving later); the earlier months hold more of
  their past. The dashboard's months, the tasks (made from the agreed actions of those months and
  the five before) and the rollups' kept months do not change.
- The professionals record more routine values (LargeSeeder._routine_values), about 3 values an
  encounter instead of under 2, all from the measurement catalogue and none of them changing a
  care-gap rule's story: weight and blood pressure at most contacts in person with a citizen
  followed for diabetes (the demo takes them about once a quarter), the blood pressure (and some
  weights) a citizen measured at home in the days before a phone or video call, entered by hand
  with no encounter, and weight and blood pressure at most contacts in person with a citizen with
  dementia (weight loss and falls). A citizen the team has lost from follow-up has no values, as in
  the demo, so the gaps and indicators about lost citizens tell the same story; the catalogue has
  no glucose, so there is none. The trend rules (HbA1c, MMSE) read values the demo's code makes
  unchanged; a few more citizens are in time for the rule "blood pressure not measured in 12 months".
The demo's own output does not change: the large profile gives the Seeder its row factories (plain
rows instead of model instances) and overrides its `_encounter`.

Rows go in with COPY, a chunk of citizens at a time, never row by row through the ORM. What the
services would have written is written too, in the same shape:
- every tracked row has its pghistory insert event (the row triggers fire on COPY), an encounter
  signed after it was written its update event (it is written as a draft and signed by one UPDATE
  per chunk, as the signing service would), and each signature its access-log row;
- team moves go through the citizen's row on their own day (the trigger keeps the team history);
- each agreed action's task has the transitions and notifications the task services write
  (coordination.demo decides its life), the referrals come from coordination.demo;
- the pghistory context of the bulk rows names the command, so no event is anonymous.
The reporting triggers that mark days stale are off while the rows go in: the full rollup that
follows computes every month, and the care-gap job (coordination.caregaps.evaluate_care_gaps, the
job itself) then reviews every citizen once, so the next incremental rollup and care-gap run find
nothing to do."""

import datetime
import json
import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable

from django.db import connection, transaction
from django.utils import timezone
from psycopg import sql

from coordination.caregaps import evaluate_care_gaps
from coordination.demo import (
    COMMENTS,
    _next_move,
    _task_life,
    _team_history,
    _team_on,
    _triaged_referrals,
    team_own_work,
)
from coordination.models import NotificationKind, Referral, TaskStatus
from healthcenter.models import AccessAction, AccessOutcome, Profession, Role, Team, User
from patients.demo import (
    COORDINATORS,
    NAMED_USERS,
    STAFF_MIX,
    TEAMS,
    Plan,
    Seeder,
    _spread_reach,
)
from patients.models import (
    AgreedAction,
    Condition,
    Consent,
    Encounter,
    EncounterKind,
    Enrolment,
    Goal,
    Measurement,
    Patient,
    PatientStatus,
    Relative,
)
from reporting.demo import seed_stories

CITIZENS = 50_000
PROFESSIONALS = 300
# Four districts, each with a team in every one of the demo's four slots (Nord, Syd, dementia, Vest
# by patients.demo's team indices); the two smaller districts share their dementia team.
DISTRICTS = [
    (TEAMS, 1.0),
    (("Diabetes Nordøst", "Diabetes Sydøst", "Demens Øst", "Diabetes Midt"), 1.0),
    (("Diabetes Havnen", "Diabetes Skoven", "Demens Land", "Diabetes Bakken"), 0.5),
    (("Diabetes Engen", "Diabetes Kysten", "Demens Land", "Diabetes Byen"), 0.5),
]
# The share of a district's citizens each slot ends up responsible for, as in the small demo.
SLOT_SHARE = [0.23, 0.27, 0.26, 0.24]
CHUNK = 2_500
# Five years of records instead of the demo's four: the centre's record system has been in use
# longer than the dashboard's longest window looks back.
EXTRA_HISTORY_DAYS = 550
# The large profile's routine values at contacts (LargeSeeder._routine_values).
IN_PERSON = {EncounterKind.INDIVIDUAL, EncounterKind.GROUP, EncounterKind.HOME_VISIT}
ROUTINE_AT_CONTACT = 0.95
HOME_BP_AT_CALL = 0.85
HOME_WEIGHT_AT_CALL = 0.5
HOME_BP_LOWER = 5
DEMENTIA_WEIGHT_CHANCE = 0.8
DEMENTIA_BP_CHANCE = 0.6


def team_names() -> list[str]:
    return list(dict.fromkeys(name for names, _weight in DISTRICTS for name in names))


class Copier:
    """COPY into a table with ids taken from its sequence beforehand (so that rows can name each
    other before they are written), and the pghistory events the row triggers would have written,
    made from the written rows in one statement."""

    def __init__(self, cursor, *, context_id: uuid.UUID):
        self.cursor = cursor
        self.context_id = context_id
        self.sequences: dict[str, str] = {}
        self.event_columns: dict[str, list[str]] = {}

    def reserve(self, table: str, n: int) -> int:
        """The first of `n` consecutive ids nobody else will get."""
        if table not in self.sequences:
            self.cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            self.sequences[table] = self.cursor.fetchone()[0]
        sequence = self.sequences[table]
        self.cursor.execute("SELECT nextval(%s::regclass)", [sequence])
        first = self.cursor.fetchone()[0]
        if n > 1:
            self.cursor.execute("SELECT setval(%s::regclass, %s)", [sequence, first + n - 1])
        return first

    def copy(self, table: str, columns: list[str], rows: Iterable[tuple]) -> int:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        count = 0
        with self.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def copy_tracked(self, table: str, columns: list[str], rows: list[tuple], **insert_overrides: str) -> int:
        """Rows of a tracked table, each given the next reserved id, and their insert events."""
        if not rows:
            return 0
        first = self.reserve(table, len(rows))
        self.copy(table, ["id", *columns], ((first + n, *row) for n, row in enumerate(rows)))
        self.events(table, "insert", "id BETWEEN %s AND %s", [first, first + len(rows) - 1], **insert_overrides)
        return len(rows)

    def events(self, table: str, label: str, where: str, params: list, **overrides: str) -> None:
        """The event rows pghistory's trigger writes for `label` of the rows `where` selects, under
        the seeding's context; `overrides` give a column's value at that event (SQL over the row)."""
        event_table = f"{table}event"
        if event_table not in self.event_columns:
            self.cursor.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s AND column_name <> 'pgh_id' "
                "AND is_generated = 'NEVER' "
                "ORDER BY ordinal_position",
                [event_table],
            )
            self.event_columns[event_table] = [row[0] for row in self.cursor.fetchall()]
        columns = self.event_columns[event_table]
        values = {
            "pgh_created_at": sql.SQL("now()"),
            "pgh_label": sql.Literal(label),
            "pgh_obj_id": sql.Identifier("id"),
            "pgh_context_id": sql.Literal(str(self.context_id)),
        }
        selected = [
            values.get(column) or (sql.SQL(overrides[column]) if column in overrides else sql.Identifier(column))
            for column in columns
        ]
        self.cursor.execute(
            sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} WHERE {}").format(
                sql.Identifier(event_table),
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join(selected),
                sql.Identifier(table),
                sql.SQL(where),
            ),
            params,
        )


class _Row:
    """An encounter or measurement as the Seeder decides it (its row factories): only the given
    fields, none of a model instance's cost (a million of them would take minutes to construct)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


# The tables whose public ids the database draws while the bulk rows go in (gen_random_uuid()),
# rather than Python's uuid4 for each of millions of rows.
DRAWN_PUBLIC_IDS = ["patients_encounter", "patients_measurement", "patients_agreedaction"]


def _draw_public_ids(cursor, *, on: bool) -> None:
    for table in DRAWN_PUBLIC_IDS:
        cursor.execute(
            sql.SQL("ALTER TABLE {} ALTER COLUMN public_id {}").format(
                sql.Identifier(table), sql.SQL("SET DEFAULT gen_random_uuid()" if on else "DROP DEFAULT")
            )
        )


def _cached(instance, name: str):
    """The related object given to a model instance (its id may have been set after it was given)."""
    return instance._state.fields_cache.get(name)


def _pk(instance, name: str) -> int | None:
    related = _cached(instance, name)
    return None if related is None else related.pk


class LargeSeeder(Seeder):
    """patients.demo.Seeder's citizens, written with COPY a chunk at a time."""

    def __init__(self, copier: Copier, *, citizens: int = CITIZENS, professionals: int = PROFESSIONALS, progress=None):
        super().__init__(citizens=citizens, encounter_row=_Row, measurement_row=_Row)
        self.history_from -= datetime.timedelta(days=EXTRA_HISTORY_DAYS)
        self.copier = copier
        self.professionals = professionals
        self.progress = progress or (lambda n: None)
        self.moves: list[tuple[datetime.date, int, int]] = []
        self.counts: dict[str, int] = defaultdict(int)

    # --- staff: every district's slot a team, staff after the teams' expected caseloads ---------

    def staff_teams(self) -> None:
        teams = {name: Team.objects.get_or_create(name=name)[0] for name in team_names()}
        self.grid = [[teams[name] for name in names] for names, _weight in DISTRICTS]
        self.weights = [weight for _names, weight in DISTRICTS]
        expected: dict[str, float] = defaultdict(float)
        total = sum(self.weights)
        for (names, weight), _row in zip(DISTRICTS, self.grid, strict=True):
            for slot, name in enumerate(names):
                expected[name] += weight / total * SLOT_SHARE[slot]
        members: dict[str, list[User]] = {name: [] for name in teams}
        for username, first, last, role, profession, indices in NAMED_USERS:
            user = self._user(username, first, last, role, profession, [self.grid[0][i] for i in indices])
            if role == Role.PROFESSIONAL:
                for i in indices:
                    members[self.grid[0][i].name].append(user)
        for username, first, last, slot in COORDINATORS:
            self._user(username, first, last, Role.COORDINATOR, "", [self.grid[0][slot]])
        covered = {
            self.grid[0][i].name for _u, _f, _l, role, _p, idx in NAMED_USERS if role == Role.COORDINATOR for i in idx
        } | {self.grid[0][slot].name for *_n, slot in COORDINATORS}
        slot_of = {name: slot for names, _w in DISTRICTS for slot, name in enumerate(names)}
        wanted = _apportion(self.professionals, expected)
        for name, team in teams.items():
            if name not in covered:
                first, last = self._new_name()
                self._user(f"koordinator.{_ascii(name)}", first, last, Role.COORDINATOR, "", [team])
            mix = [profession for profession, slot in STAFF_MIX if slot == slot_of[name]] or [Profession.NURSE]
            number = len(members[name])
            while len(members[name]) < wanted[name]:
                first, last = self._new_name()
                profession = mix[number % len(mix)]
                number += 1
                user = self._user(_ascii(f"{first}.{last}"), first, last, Role.PROFESSIONAL, profession, [team])
                members[name].append(user)
        self.grid_staff = [{slot: members[team.name] for slot, team in enumerate(row)} for row in self.grid]

    def _new_name(self) -> tuple[str, str]:
        """A name nobody on the staff has: Seeder._user takes an existing user of the same name
        for the same person, who would then work for two teams while a member of one."""
        while True:
            first, last = self.fake.first_name(), self.fake.last_name()
            if not User.objects.filter(first_name=first, last_name=last).exists():
                return first, last

    def _enter(self, district: int) -> None:
        """The Seeder's team slots and staff are the district's for the citizen being made."""
        self.teams = self.grid[district]
        self.staff = self.grid_staff[district]

    # --- the large profile's routine values at contacts (see the module's docstring) ---------

    def _encounter(  # noqa: PLR0917  # the Seeder's own signature, extended
        self, plan, started, kind, values, profile, dementia, focus_dementia, lost, recalled, first
    ) -> None:
        extra = [] if lost else self._routine_values(plan, started.date(), kind, values, dementia)
        super()._encounter(
            plan, started, kind, values + extra, profile, dementia, focus_dementia, lost, recalled, first
        )

    def _routine_values(self, plan: Plan, day: datetime.date, kind: str, values: list, dementia: bool) -> list:
        """What the large centre's professionals record besides the demo's checks: weight and blood
        pressure at most in-person diabetes contacts (the demo takes them about once a quarter),
        the blood pressure the citizen measured at home in the days before a phone or video call
        (entered by hand), and the weight of a citizen with dementia at some contacts in person."""
        rng = self.rng
        codes = {code for code, *_rest in values}
        in_person = kind in IN_PERSON
        extra: list[tuple[str, object, str, datetime.date]] = []
        if plan.follows_diabetes and "systolic_bp" not in codes:
            if in_person and rng.random() < ROUTINE_AT_CONTACT:
                years = (day - plan.since).days / 365
                extra.append(("weight", plan.weight - 0.8 * years + rng.gauss(0, 1), "encounter", day))
                systolic = plan.systolic + rng.gauss(0, 8)
                extra.append(("systolic_bp", systolic, "encounter", day))
                extra.append(("diastolic_bp", systolic * 0.58 + rng.gauss(0, 5), "encounter", day))
            elif not in_person and rng.random() < HOME_BP_AT_CALL:
                # At home, away from the white coat: a few mmHg lower than at the centre.
                systolic = plan.systolic - HOME_BP_LOWER + rng.gauss(0, 8)
                measured = day - datetime.timedelta(days=rng.randint(1, 6))
                extra.append(("systolic_bp", systolic, "manual", measured))
                extra.append(("diastolic_bp", systolic * 0.58 + rng.gauss(0, 5), "manual", measured))
                if rng.random() < HOME_WEIGHT_AT_CALL:
                    years = (day - plan.since).days / 365
                    extra.append(("weight", plan.weight - 0.8 * years + rng.gauss(0, 1.5), "manual", measured))
        if dementia and in_person and not extra and "weight" not in codes:
            if not plan.weight:
                # A citizen followed for dementia alone: their own weight and blood pressure.
                plan.weight, plan.systolic = rng.gauss(72, 13), rng.gauss(142, 12)
            if rng.random() < DEMENTIA_WEIGHT_CHANCE:
                years = (day - plan.dementia_from).days / 365
                # Weight loss is common as dementia progresses; it is what the weighing watches for.
                extra.append(("weight", plan.weight - 1.2 * max(0.0, years) + rng.gauss(0, 1), "encounter", day))
            if rng.random() < DEMENTIA_BP_CHANCE:
                # Old age and antihypertensives: blood pressure is watched for the risk of falls.
                systolic = plan.systolic + rng.gauss(0, 8)
                extra.append(("systolic_bp", systolic, "encounter", day))
                extra.append(("diastolic_bp", systolic * 0.58 + rng.gauss(0, 5), "encounter", day))
        return extra

    # --- citizens ------------------------------------------------------------------------------

    def run(self) -> None:
        self.staff_teams()
        done = 0
        while done < self.citizens:
            n = min(CHUNK, self.citizens - done)
            self._chunk(n)
            done += n
            self.progress(n)
        self._move_all_teams(self.copier.cursor)

    def _chunk(self, n: int) -> None:
        self.rows = {model: [] for model in (Condition, Enrolment, Consent, Relative, Goal, Encounter, Measurement)}
        self.actions, self.goal_dates = [], []
        plans: list[tuple[int, Plan]] = []
        for _ in range(n):
            district = self.rng.choices(range(len(self.grid)), self.weights)[0]
            self._enter(district)
            plans.append((district, self._plan()))
        for district in range(len(self.grid)):
            _spread_reach([plan for d, plan in plans if d == district])
        for district, plan in plans:
            self._enter(district)
            self._records(plan)
            self._history(plan)
        self._write(plans)

    def _write(self, plans: list[tuple[int, Plan]]) -> None:
        copier = self.copier
        first = copier.reserve("patients_patient", len(plans))
        for number, (district, plan) in enumerate(plans):
            plan.patient.pk = first + number
            for rank, (moved_on, slot) in enumerate(plan.teams[1:], start=1):
                self.moves.append((plan.patient.pk, rank, moved_on, self.grid[district][slot].id))
        # Inserted with the first team, as registered; the moves follow (_move_all_teams).
        self.counts["patients"] += copier.copy(
            "patients_patient",
            [
                "id",
                "public_id",
                "cpr",
                "first_name",
                "last_name",
                "birth_date",
                "sex",
                "address",
                "postal_code",
                "city",
                "phone",
                "email",
                "gp_name",
                "gp_phone",
                "status",
                "version",
                "created_at",
                "updated_at",
                "responsible_professional_id",
                "team_id",
            ],
            [
                (
                    p.pk,
                    p.public_id,
                    p.cpr,
                    p.first_name,
                    p.last_name,
                    p.birth_date,
                    p.sex,
                    p.address,
                    p.postal_code,
                    p.city,
                    p.phone,
                    p.email,
                    p.gp_name,
                    p.gp_phone,
                    p.status,
                    1,
                    self.at(plan.since, 9),
                    self.at(plan.since, 9),
                    p.responsible_professional_id,
                    p.team_id,
                )
                for _district, plan in plans
                for p in [plan.patient]
            ],
        )
        last = first + len(plans) - 1
        copier.events("patients_patient", "insert", "id BETWEEN %s AND %s", [first, last])
        # What the team-history trigger writes for a new citizen: the first team, from the start.
        copier.cursor.execute(
            "INSERT INTO patients_teamresponsibility (patient_id, team_id, valid_from, recorded_at) "
            "SELECT id, team_id, NULL, now() FROM patients_patient WHERE id BETWEEN %s AND %s ORDER BY id",
            [first, last],
        )
        self._copy_records()
        self._copy_encounters()

    def _copy_records(self) -> None:
        copier, rows = self.copier, self.rows
        copier.copy_tracked(
            "patients_condition",
            ["public_id", "kind", "icd10", "diagnosed_on", "patient_id"],
            [(c.public_id, c.kind, c.icd10, c.diagnosed_on, _pk(c, "patient")) for c in rows[Condition]],
        )
        copier.copy_tracked(
            "patients_enrolment",
            ["public_id", "referral_received_on", "start_on", "end_on", "end_reason", "patient_id", "programme_id"],
            [
                (
                    e.public_id,
                    e.referral_received_on,
                    e.start_on,
                    e.end_on,
                    e.end_reason,
                    _pk(e, "patient"),
                    e.programme_id,
                )
                for e in rows[Enrolment]
            ],
        )
        copier.copy_tracked(
            "patients_consent",
            ["public_id", "kind", "given_on", "given_by", "withdrawn_by", "recorded_by_id", "patient_id"],
            [
                (c.public_id, c.kind, c.given_on, c.given_by, "", c.recorded_by_id, _pk(c, "patient"))
                for c in rows[Consent]
            ],
        )
        copier.copy_tracked(
            "patients_relative",
            [
                "public_id",
                "name",
                "relation",
                "phone",
                "is_primary_caregiver",
                "may_receive_information",
                "created_at",
                "patient_id",
                "primary_caregiver_from",
                "primary_caregiver_until",
            ],
            [
                (
                    r.public_id,
                    r.name,
                    r.relation,
                    r.phone,
                    r.is_primary_caregiver,
                    r.may_receive_information,
                    self.now,
                    _pk(r, "patient"),
                    r.primary_caregiver_from,
                    r.primary_caregiver_until,
                )
                for r in rows[Relative]
            ],
        )
        created = {id(goal): moment for goal, moment in self.goal_dates}
        copier.copy_tracked(
            "patients_goal",
            [
                "public_id",
                "text",
                "target_low",
                "target_high",
                "review_on",
                "status",
                "achieved_on",
                "created_at",
                "version",
                "created_by_id",
                "measurement_type_id",
                "patient_id",
                "dropped_on",
            ],
            [
                (
                    g.public_id,
                    g.text,
                    g.target_low,
                    g.target_high,
                    g.review_on,
                    g.status,
                    g.achieved_on,
                    created[id(g)],
                    1,
                    g.created_by_id,
                    g.measurement_type_id,
                    _pk(g, "patient"),
                    g.dropped_on,
                )
                for g in rows[Goal]
            ],
        )

    def _copy_encounters(self) -> None:
        copier, rows = self.copier, self.rows
        encounters = rows[Encounter]
        if not encounters:
            return
        first = copier.reserve("patients_encounter", len(encounters))
        for number, e in enumerate(encounters):
            e.pk = first + number
        columns = "id kind started_at duration_minutes note what_matters signed_at version created_at professional_id"
        self.counts["encounters"] += copier.copy(
            "patients_encounter",
            [*columns.split(), "patient_id", "caregiver_present"],
            (
                (
                    e.pk,
                    e.kind,
                    e.started_at,
                    e.duration_minutes,
                    e.note,
                    e.what_matters,
                    e.signed_at,
                    1 if e.signed_at is None else 2,
                    e.started_at,
                    e.professional.pk,
                    e.patient.pk,
                    e.caregiver_present,
                )
                for e in encounters
            ),
        )
        # Written as a draft and signed later by the signing service (a version check): an insert
        # event of the draft and an update event of the signature, as in the small demo.
        last = first + len(encounters) - 1
        copier.events(
            "patients_encounter", "insert", "id BETWEEN %s AND %s", [first, last], signed_at="NULL", version="1"
        )
        copier.events("patients_encounter", "update", "id BETWEEN %s AND %s AND signed_at IS NOT NULL", [first, last])
        columns = "value result measured_at source encounter_id recorded_by_id type_id patient_id correction_reason"
        self.counts["measurements"] += copier.copy_tracked(
            "patients_measurement",
            [*columns.split(), "recorded_at"],
            [
                (
                    m.value,
                    m.result,
                    m.measured_at,
                    m.source,
                    m.encounter and m.encounter.pk,
                    m.recorded_by and m.recorded_by.pk,
                    m.type.pk,
                    m.patient.pk,
                    "",
                    m.measured_at,
                )
                for m in rows[Measurement]
            ],
        )
        copier.copy_tracked(
            "patients_agreedaction", ["text", "position", "encounter_id"], [(text, 0, e.pk) for e, text in self.actions]
        )
        # The signing service's access-log row for each signature (the database's time, as its
        # trigger would stamp it).
        copier.copy(
            "healthcenter_accesslog",
            ["at", "role", "patient_public_id", "action", "what", "outcome", "user_id"],
            (
                (
                    self.now,
                    Role.PROFESSIONAL,
                    e.patient.public_id,
                    AccessAction.UPDATE,
                    "encounter signed",
                    AccessOutcome.ALLOWED,
                    e.professional.pk,
                )
                for e in encounters
                if e.signed_at is not None
            ),
        )

    def _move_all_teams(self, cursor) -> None:
        """Team moves on their own days, as the citizen's row and its trigger record them: the new
        team on the row (an update event) and a team-history row from that day. A citizen moves at
        most a few times; each round moves everyone's next move at once."""
        cursor.execute(
            "CREATE TEMP TABLE seed_move (patient_id bigint, rank int, day date, team_id bigint) ON COMMIT DROP"
        )
        self.copier.copy("seed_move", ["patient_id", "rank", "day", "team_id"], self.moves)
        for rank in sorted({rank for _p, rank, _d, _t in self.moves}):
            cursor.execute(
                "UPDATE patients_patient p SET team_id = m.team_id FROM seed_move m "
                "WHERE m.rank = %s AND p.id = m.patient_id",
                [rank],
            )
            self.copier.events(
                "patients_patient",
                "update",
                "id IN (SELECT patient_id FROM seed_move WHERE rank = %s)",
                [rank],
            )
            cursor.execute(
                "INSERT INTO patients_teamresponsibility (patient_id, team_id, valid_from, recorded_at) "
                "SELECT patient_id, team_id, day, now() FROM seed_move WHERE rank = %s ORDER BY patient_id",
                [rank],
            )


def _apportion(total: int, shares: dict[str, float]) -> dict[str, int]:
    """`total` people over the teams in proportion to their shares (largest remainders), at least
    three a team."""
    exact = {name: total * share / sum(shares.values()) for name, share in shares.items()}
    counts = {name: int(value) for name, value in exact.items()}
    for name in sorted(exact, key=lambda n: exact[n] - counts[n], reverse=True)[: total - sum(counts.values())]:
        counts[name] += 1
    return {name: max(3, count) for name, count in counts.items()}


def _ascii(text: str) -> str:
    text = text.lower().replace(" ", "").replace("æ", "ae").replace("ø", "oe").replace("å", "aa")
    return "".join(ch for ch in text if ch.isascii())


# --- coordination: the agreed actions' tasks, referrals, the teams' own work ------------------------------


class Coordination:
    """coordination.demo's tasks for agreed actions and its referrals, written with COPY."""

    def __init__(self, copier: Copier, *, grid: list[list[Team]], seed: int = 2027):
        self.copier = copier
        self.rng = random.Random(seed)  # noqa: S311  # nosec B311  # demo data, not secrets
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.tz = timezone.get_current_timezone()
        self.slot = {team.id: slot for row in grid for slot, team in enumerate(row)}
        teams = list(Team.objects.filter(id__in=self.slot).order_by("name"))
        self.teams = {t.id: t for t in teams}
        self.staff = {t.id: list(t.members.filter(role=Role.PROFESSIONAL).order_by("username")) for t in teams}
        self.coordinators = {
            t.id: t.members.filter(role=Role.COORDINATOR).order_by("username").first() or self.staff[t.id][0]
            for t in teams
        }
        self.history = _team_history()

    def agreed_action_tasks(self) -> None:
        first = (self.today.replace(day=1) - datetime.timedelta(days=31 * 23)).replace(day=1) - datetime.timedelta(
            days=150
        )
        exits = dict(
            Enrolment.objects.filter(patient__status__in=[PatientStatus.DISCHARGED, PatientStatus.DECEASED])
            .order_by("patient_id", "end_on")
            .values_list("patient_id", "end_on")
        )
        actions = (
            AgreedAction.objects.filter(
                encounter__signed_at__isnull=False,
                encounter__started_at__gte=datetime.datetime.combine(first, datetime.time.min, tzinfo=self.tz),
            )
            .order_by("encounter__started_at", "id")
            .values_list("id", "text", "encounter__patient_id", "encounter__professional_id", "encounter__signed_at")
        )
        lives = []
        for action in actions.iterator(chunk_size=20_000):
            _action_id, _text, patient_id, _professional_id, signed_at = action
            made = timezone.localdate(signed_at)
            team_id = _team_on(self.history, patient_id, made)
            lives.append(
                _task_life(
                    self.rng,
                    action=action,
                    team_id=team_id,
                    team_index=self.slot.get(team_id, 0),
                    team_staff=self.staff[team_id],
                    moved_on=_next_move(self.history, patient_id, made),
                    left_on=exits.get(patient_id),
                )
            )
        self._write_tasks(lives)

    def _write_tasks(self, lives) -> None:
        """Each task as the task services leave it: its row, a transition per step (made, perhaps
        handed on, started, closed), the assignee told, and some comments."""
        copier, now, rng = self.copier, self.now, self.rng
        first = copier.reserve("coordination_task", len(lives)) if lives else 0
        transitions, notifications, comments = [], [], []
        recent = now - datetime.timedelta(days=14)
        for number, life in enumerate(lives):
            task = life.task
            task.pk = first + number
            creator = task.created_by_id
            coordinator = self.coordinators[task.team_id]
            closed = task.status in (TaskStatus.DONE, TaskStatus.CANCELLED)
            seen = now if closed or life.made < recent else None
            steps = [(life.made, creator, "", TaskStatus.OPEN, None, life.assignee.id)]
            if life.assignee.id != creator:
                notifications.append((NotificationKind.ASSIGNED, life.made, seen, creator, life.assignee.id, task.pk))
            status, assignee = TaskStatus.OPEN, life.assignee.id
            if life.handed_to is not None:
                moment = life.made + (min(life.ends, now) - life.made) * 0.05
                steps.append((moment, coordinator.id, status, status, assignee, life.handed_to.id))
                assignee = life.handed_to.id
                if assignee != coordinator.id:
                    notifications.append(
                        (NotificationKind.ASSIGNED, life.made, seen, coordinator.id, assignee, task.pk)
                    )
            who = assignee
            if life.started is not None and life.started <= now:
                steps.append((life.started, who, status, TaskStatus.IN_PROGRESS, assignee, assignee))
                status = TaskStatus.IN_PROGRESS
            if closed:
                by = who if task.status == TaskStatus.DONE else coordinator.id
                steps.append((life.ends, by, status, task.status, assignee, assignee))
            task.version = len(steps)
            transitions.extend((task.pk, *step) for step in steps)
            if rng.random() < 0.15:
                moment = life.made + (min(life.ends, now) - life.made) * rng.uniform(0.1, 0.9)
                comments.append((rng.choice(COMMENTS), moment, who, task.pk))
        copier.copy(
            "coordination_task",
            [
                "id",
                "public_id",
                "title",
                "description",
                "due_on",
                "priority",
                "status",
                "origin",
                "created_at",
                "completed_at",
                "version",
                "agreed_action_id",
                "assignee_id",
                "created_by_id",
                "patient_id",
                "team_id",
            ],
            (
                (
                    t.pk,
                    t.public_id,
                    t.title,
                    "",
                    t.due_on,
                    t.priority,
                    t.status,
                    t.origin,
                    life.made,
                    t.completed_at,
                    t.version,
                    t.agreed_action_id,
                    t.assignee_id,
                    t.created_by_id,
                    t.patient_id,
                    t.team_id,
                )
                for life in lives
                for t in [life.task]
            ),
        )
        copier.copy(
            "coordination_tasktransition",
            ["task_id", "at", "by_id", "from_status", "to_status", "from_assignee_id", "to_assignee_id"],
            transitions,
        )
        copier.copy(
            "coordination_notification",
            ["kind", "created_at", "seen_at", "actor_id", "user_id", "task_id"],
            notifications,
        )
        copier.copy("coordination_taskcomment", ["text", "created_at", "author_id", "task_id"], comments)

    def teams_own_work(self) -> None:
        """What coordination.demo does for each team through the services: tasks without a
        citizen, handover notes, referrals waiting for triage (among a team's first 400 citizens)."""
        for team_id, team in self.teams.items():
            patients = list(Patient.objects.filter(team=team, status=PatientStatus.ACTIVE).order_by("id")[:400])
            team_own_work(
                self.rng,
                team=team,
                team_staff=self.staff[team_id],
                coordinator=self.coordinators[team_id],
                patients=patients,
                now=self.now,
            )


# --- the whole profile -------------------------------------------------------------------------------------


def _bulk_open_gaps(gaps, *, due_on: datetime.date) -> None:
    """How the care-gap job opens its new gaps (coordination.caregaps._open_gaps), in bulk, given
    to it as `open_new_gaps` for its first run over the whole centre: for each gap what
    services.care_gap_open writes (a task from the rule by nobody, its first transition, the
    assignee told, the gap naming the task), a few statements for the whole batch instead of
    several per gap."""
    from coordination import caregaps
    from coordination.models import CareGap, CareGapCheck, Notification, Task, TaskOrigin, TaskPriority, TaskTransition

    if not gaps:
        return
    now = timezone.now()
    patients = Patient.objects.in_bulk({gap.patient_id for gap in gaps})
    in_team = caregaps._responsible_in_team(patients.values())
    active = set(User.objects.filter(is_active=True).values_list("id", flat=True))
    tasks = []
    for gap in gaps:
        patient = patients[gap.patient_id]
        trend = gap.rule.check_kind in (CareGapCheck.RISING, CareGapCheck.FALLING)
        tasks.append(
            Task(
                title=gap.rule.name_da.strip(),
                description=gap.reason.strip(),
                team_id=patient.team_id,
                patient_id=patient.pk,
                assignee_id=patient.responsible_professional_id if patient.pk in in_team else None,
                due_on=due_on,
                priority=TaskPriority.HIGH if trend else TaskPriority.NORMAL,
                origin=TaskOrigin.RULE,
                created_by=None,
                created_at=now,
            )
        )
    Task.objects.bulk_create(tasks, batch_size=1000)
    TaskTransition.objects.bulk_create(
        [
            TaskTransition(task=t, by=None, at=now, from_status="", to_status=t.status, to_assignee_id=t.assignee_id)
            for t in tasks
        ],
        batch_size=1000,
    )
    Notification.objects.bulk_create(
        [
            Notification(user_id=t.assignee_id, actor=None, kind=NotificationKind.ASSIGNED, task=t)
            for t in tasks
            if t.assignee_id in active
        ],
        batch_size=1000,
    )
    CareGap.objects.bulk_create(
        [
            CareGap(patient_id=t.patient_id, rule=gap.rule, task=t, opened_at=now)
            for gap, t in zip(gaps, tasks, strict=True)
        ],
        batch_size=1000,
    )


def _bulk_context(cursor) -> uuid.UUID:
    """The pghistory context every event of the bulk rows names: the command that wrote them."""
    context_id = uuid.uuid4()
    cursor.execute(
        "INSERT INTO pghistory_context (id, metadata, created_at, updated_at) VALUES (%s, %s, now(), now())",
        [context_id, json.dumps({"command": "seed_demo", "profile": "large"})],
    )
    return context_id


def seed_large(
    *,
    citizens: int = CITIZENS,
    professionals: int | None = None,
    rollups: bool = True,
    step: Callable[[str], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, object]:
    """Seeds the large profile; returns the seconds each phase took (under "timings")."""
    from reporting.rollups import run_full

    step = step or (lambda name: None)
    professionals = professionals or max(12, round(PROFESSIONALS * citizens / CITIZENS))
    timings: dict[str, float] = {}
    clock = timezone.now()

    def lap(name: str) -> None:
        nonlocal clock
        moment = timezone.now()
        timings[name] = round((moment - clock).total_seconds(), 1)
        clock = moment

    with transaction.atomic(), connection.cursor() as cursor:
        # No trigger fires while the rows go in (a superuser's replica mode): the events and team
        # history they would write are written set-wise by the Copier and LargeSeeder, the foreign
        # keys hold by construction (tests/test_large_seed.py checks them), the reporting's stale
        # marks and the care-gap change marks are not needed before the full rollup and the
        # care-gap job's first review of every citizen.
        cursor.execute("SET LOCAL session_replication_role = replica")
        _draw_public_ids(cursor, on=True)
        copier = Copier(cursor, context_id=_bulk_context(cursor))
        step("citizens")
        seeder = LargeSeeder(copier, citizens=citizens, professionals=professionals, progress=progress)
        seeder.run()
        lap("citizens")
        step("tasks and referrals")
        coordination = Coordination(copier, grid=seeder.grid)
        coordination.agreed_action_tasks()
        _triaged_referrals(coordination.rng, coordination.history, coordination.coordinators)
        _draw_public_ids(cursor, on=False)
        cursor.execute("SET LOCAL session_replication_role = origin")
        # The teams' own few tasks, handovers and waiting referrals, through the services.
        coordination.teams_own_work()
        lap("tasks")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    lap("analyze")
    step("care gaps")
    evaluate_care_gaps(everyone=True, open_new_gaps=_bulk_open_gaps)
    lap("care_gaps")
    with transaction.atomic():
        seed_stories()
    if rollups:
        step("rollups")
        run_full()
        lap("rollups")
    return {"timings": timings}


def counts() -> dict[str, int]:
    from coordination.models import CareGap, Task

    return {
        "citizens": Patient.objects.count(),
        "teams": Team.objects.count(),
        "professionals": User.objects.filter(role=Role.PROFESSIONAL).count(),
        "encounters": Encounter.objects.count(),
        "measurements": Measurement.objects.count(),
        "tasks": Task.objects.count(),
        "care_gaps": CareGap.objects.count(),
        "referrals": Referral.objects.count(),
    }
