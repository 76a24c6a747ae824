"""Writes to citizens' records. Each service is atomic, validates everything before it writes,
and leaves the change history to the database triggers (pghistory), which also catch bulk
changes. Callers have already passed the access check (selectors.patient_for)."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F, ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from healthcenter import access
from healthcenter.formatting import number
from healthcenter.models import AccessAction, Team, User

from . import cpr as cpr_rules
from . import phones
from .models import (
    ICD10_BY_CONDITION,
    AgreedAction,
    Amendment,
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
    MeasurementKind,
    MeasurementSource,
    MeasurementType,
    Patient,
    PatientStatus,
    Programme,
    Relative,
)


def stale_error() -> ValidationError:
    return ValidationError(
        _(
            "Someone else saved this record while you were editing it. Nothing you entered was saved: "
            "reload the page to see their changes, then enter yours again."
        ),
        code="stale",
    )


class DuplicateCitizen(ValidationError):
    """A CPR number that is already registered. Carries the existing citizen's id so that the
    caller can log the attempt under that citizen (after this transaction has rolled back)."""

    def __init__(self, existing_public_id, message: str | None = None):
        super().__init__(
            {"cpr": message or _("A citizen with this CPR number is already registered. Ask the coordinator.")}
        )
        self.existing_public_id = existing_public_id


def require_choice(value: str, choices, *, field: str) -> None:
    """Services do not trust a form to have offered only valid choices."""
    if value not in choices.values:
        raise ValidationError({field: _("Choose one of the options.")})


def _bump_version(model, obj, expected_version: int, **changes) -> None:
    """Optimistic locking: the update applies only if nobody saved since the form was loaded."""
    updated = model.objects.filter(pk=obj.pk, version=expected_version).update(version=F("version") + 1, **changes)
    if not updated:
        raise stale_error()
    for field, value in changes.items():
        setattr(obj, field, value)
    obj.version = expected_version + 1


# --- citizens -----------------------------------------------------------------------------------


@dataclass
class PatientData:
    cpr: str
    first_name: str
    last_name: str
    team: Team
    address: str = ""
    postal_code: str = ""
    city: str = ""
    phone: str = ""
    email: str = ""
    gp_name: str = ""
    gp_phone: str = ""
    status: str = "active"
    responsible_professional: User | None = None


def _validate_placement(*, actor: User, team: Team, responsible: User | None) -> None:
    if not access.cares_for(actor, team.id):
        raise ValidationError({"team": _("You can only place citizens in your own teams.")})
    if responsible is not None and not (
        access.may(responsible, access.Work.CITIZENS) and responsible.teams.filter(id=team.id).exists()
    ):
        raise ValidationError(
            {"responsible_professional": _("The responsible professional must be a member of the team.")}
        )


def _parse_phones(data: PatientData) -> None:
    """Phone numbers are stored as their eight digits, whatever spacing or +45 they were typed with."""
    errors = {}
    for field in ("phone", "gp_phone"):
        try:
            setattr(data, field, phones.parse_phone(getattr(data, field)))
        except ValidationError as error:
            errors[field] = error.messages
    if errors:
        raise ValidationError(errors)


def patient_validate_registration(*, actor: User, data: PatientData) -> cpr_rules.CprFacts:
    """Every check of a registration that does not depend on who, if anyone, already has the CPR
    number. A caller that treats a known number differently (coordination's `citizen_register`)
    runs these first, so that a mistake in the form is reported alike in every case."""
    facts = cpr_rules.parse_cpr(data.cpr)
    _parse_phones(data)
    require_choice(data.status, PatientStatus, field="status")
    _validate_placement(actor=actor, team=data.team, responsible=data.responsible_professional)
    return facts


@transaction.atomic
def patient_create(*, actor: User, data: PatientData) -> Patient:
    """Registers a citizen who is not registered yet; a CPR number that is raises DuplicateCitizen.
    People register citizens through coordination's `citizen_register`, which decides what a known
    number becomes without telling whom it belongs to."""
    facts = patient_validate_registration(actor=actor, data=data)
    existing = Patient.objects.filter(cpr=facts.number).values_list("public_id", flat=True).first()
    if existing:
        raise DuplicateCitizen(existing)
    patient = Patient(
        cpr=facts.number,
        birth_date=facts.birth_date,
        sex=facts.sex,
        first_name=data.first_name.strip(),
        last_name=data.last_name.strip(),
        team=data.team,
        responsible_professional=data.responsible_professional,
        address=data.address,
        postal_code=data.postal_code,
        city=data.city,
        phone=data.phone,
        email=data.email,
        gp_name=data.gp_name,
        gp_phone=data.gp_phone,
        status=data.status,
    )
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError:
        # Two registrations of the same CPR at the same moment: the unique index decides.
        raise DuplicateCitizen(Patient.objects.get(cpr=facts.number).public_id) from None
    access.record(
        actor=actor,
        action=AccessAction.CREATE,
        what=gettext_noop("citizen registered"),
        patient_public_id=patient.public_id,
    )
    return patient


@transaction.atomic
def patient_update(
    *,
    actor: User,
    patient: Patient,
    expected_version: int,
    data: PatientData,
    changed_on: datetime.date | None = None,
) -> Patient:
    """`changed_on` dates a change of team or status (default today): a move counts for the
    new team from that day, a discharge or death ends the citizen's open enrolments that day."""
    changed_on = changed_on or timezone.localdate()
    if changed_on > timezone.localdate():
        raise ValidationError(_("The date cannot be in the future."))
    facts = cpr_rules.parse_cpr(data.cpr)
    _parse_phones(data)
    require_choice(data.status, PatientStatus, field="status")
    _validate_placement(actor=actor, team=data.team, responsible=data.responsible_professional)
    existing = Patient.objects.filter(cpr=facts.number).exclude(pk=patient.pk).values_list("public_id", flat=True)
    if existing:
        raise DuplicateCitizen(existing[0])
    was_active = patient.status == PatientStatus.ACTIVE
    with connection.cursor() as cursor:
        # Read by the trigger that keeps the responsible team's history (patients.models.Patient).
        cursor.execute("SELECT set_config('healthcenter.team_change_on', %s, true)", [changed_on.isoformat()])
    try:
        with transaction.atomic():
            _save_patient_changes(patient, expected_version, facts, data)
    except IntegrityError:
        # Another citizen got the same CPR number at the same moment: the unique index decides.
        raise DuplicateCitizen(Patient.objects.get(cpr=facts.number).public_id) from None
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('healthcenter.team_change_on', '', true)")
    if was_active and data.status != PatientStatus.ACTIVE:
        _end_open_enrolments(patient, on=changed_on, status=data.status)
    return patient


def _end_open_enrolments(patient: Patient, *, on: datetime.date, status: str) -> None:
    """A discharged or deceased citizen is in no programme from that day: enrolments alone decide
    who the figures and the care-gap rules count."""
    reason = EndReason.DECEASED if status == PatientStatus.DECEASED else EndReason.COMPLETED
    for enrolment in patient.enrolments.select_for_update().filter(end_on__isnull=True):
        enrolment.end_on = max(on, enrolment.start_on)
        enrolment.end_reason = reason
        enrolment.save(update_fields=["end_on", "end_reason"])


def _save_patient_changes(patient: Patient, expected_version: int, facts, data: PatientData) -> None:
    _bump_version(
        Patient,
        patient,
        expected_version,
        cpr=facts.number,
        birth_date=facts.birth_date,
        sex=facts.sex,
        first_name=data.first_name.strip(),
        last_name=data.last_name.strip(),
        team=data.team,
        responsible_professional=data.responsible_professional,
        address=data.address,
        postal_code=data.postal_code,
        city=data.city,
        phone=data.phone,
        email=data.email,
        gp_name=data.gp_name,
        gp_phone=data.gp_phone,
        status=data.status,
        updated_at=timezone.now(),
    )


# --- encounters and measurements -----------------------------------------------------------------


@dataclass
class MeasurementInput:
    type: MeasurementType
    value: Decimal | None = None
    result: str = ""


@dataclass
class EncounterData:
    kind: str
    started_at: datetime.datetime
    duration_minutes: int
    note: str = ""
    what_matters: str = ""
    caregiver_present: bool = False
    agreed_actions: list[str] | None = None
    measurements: list[MeasurementInput] | None = None


STORED_DECIMALS = Measurement._meta.get_field("value").decimal_places


def _validate_decimals(value: Decimal | int, *, field: str) -> None:
    """The database keeps two decimals and would round anything finer without a word; a value
    with more is refused instead (1.234 is more likely a thousand written with a point). NaN and
    infinity are no number at all: refused here, before any comparison would raise."""
    if not Decimal(value).is_finite():
        raise ValidationError({field: _("Write a number, e.g. 86.5.")})
    exponent = Decimal(str(value)).normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > STORED_DECIMALS:
        raise ValidationError(
            {
                field: _(
                    "Write the number with at most %(places)s decimals and without a thousands separator, e.g. 1234.5."
                )
                % {"places": STORED_DECIMALS}
            }
        )


def validate_measurement(m: MeasurementInput, *, field: str) -> None:
    if m.type.kind == MeasurementKind.PROCEDURE:
        if m.value is not None or not m.result:
            raise ValidationError(
                {field: _("Record whether %(label)s was normal or abnormal.") % {"label": m.type.label}}
            )
        return
    if m.value is None or m.result:
        raise ValidationError({field: _("%(label)s needs a value.") % {"label": m.type.label}})
    _validate_decimals(m.value, field=field)
    if m.type.decimal_places == 0 and Decimal(m.value) != Decimal(m.value).to_integral_value():
        # Scores and counts are whole (MMSE in points, blood pressure in mmHg): 25,5 is a typo.
        raise ValidationError(
            {field: _("%(label)s is recorded in whole %(unit)s.") % {"label": m.type.label, "unit": m.type.unit}}
        )
    if not (m.type.plausible_min <= m.value <= m.type.plausible_max):
        raise ValidationError(
            {
                field: _(
                    "%(label)s %(value)s %(unit)s is outside the plausible range %(low)s–%(high)s %(unit)s. "
                    "Check the value and its unit."
                )
                % {
                    "label": m.type.label,
                    "value": number(m.value),
                    "unit": m.type.unit,
                    "low": number(m.type.plausible_min),
                    "high": number(m.type.plausible_max),
                }
            }
        )


def _validate_not_future(moment: datetime.datetime, *, field: str) -> None:
    # A few minutes of slack for clocks that disagree between browser and server.
    if moment > timezone.now() + datetime.timedelta(minutes=5):
        raise ValidationError({field: _("The time cannot be in the future.")})


def _validate_encounter(data: EncounterData) -> None:
    require_choice(data.kind, EncounterKind, field="kind")
    _validate_not_future(data.started_at, field="started_at")
    if not 1 <= data.duration_minutes <= 600:
        raise ValidationError({"duration_minutes": _("The duration must be between 1 and 600 minutes.")})
    for m in data.measurements or []:
        validate_measurement(m, field=f"m_{m.type.code}")


def _write_encounter_children(
    *, actor: User, encounter: Encounter, data: EncounterData, with_actions: bool = True
) -> None:
    if with_actions:
        AgreedAction.objects.bulk_create(
            AgreedAction(encounter=encounter, text=text.strip(), position=position)
            for position, text in enumerate(t for t in (data.agreed_actions or []) if t.strip())
        )
    Measurement.objects.bulk_create(
        Measurement(
            patient_id=encounter.patient_id,
            type=m.type,
            value=m.value,
            result=m.result,
            measured_at=encounter.started_at,
            source=MeasurementSource.ENCOUNTER,
            encounter=encounter,
            recorded_by=actor,
        )
        for m in data.measurements or []
    )


@transaction.atomic
def encounter_create(*, actor: User, patient: Patient, data: EncounterData, sign: bool) -> Encounter:
    _validate_encounter(data)
    encounter = Encounter.objects.create(
        patient=patient,
        professional=actor,
        kind=data.kind,
        started_at=data.started_at,
        duration_minutes=data.duration_minutes,
        note=data.note.strip(),
        what_matters=data.what_matters.strip(),
        caregiver_present=data.caregiver_present,
        signed_at=timezone.now() if sign else None,
    )
    _write_encounter_children(actor=actor, encounter=encounter, data=data)
    if sign:
        _record_signing(actor=actor, encounter=encounter)
    return encounter


def _record_signing(*, actor: User, encounter: Encounter) -> None:
    """The signing service writes its own access-log row naming the signer, so a signature given
    outside a web request (a command, the demo) is accounted for too. Only the author signs, so
    there is always a person to name."""
    access.record(
        actor=actor,
        action=AccessAction.UPDATE,
        what=gettext_noop("encounter signed"),
        patient_public_id=encounter.patient.public_id,
    )


def _ensure_draft_by(actor: User, encounter: Encounter) -> None:
    if encounter.is_signed:
        raise ValidationError(_("This encounter is signed and can no longer be changed. Add an amendment instead."))
    if encounter.professional_id != actor.id:
        raise ValidationError(_("Only the professional who wrote a draft can change or sign it."))


@transaction.atomic
def encounter_update_draft(
    *, actor: User, encounter: Encounter, expected_version: int, data: EncounterData, sign: bool
) -> Encounter:
    _ensure_draft_by(actor, encounter)
    _validate_encounter(data)
    _bump_version(
        Encounter,
        encounter,
        expected_version,
        kind=data.kind,
        started_at=data.started_at,
        duration_minutes=data.duration_minutes,
        note=data.note.strip(),
        what_matters=data.what_matters.strip(),
        caregiver_present=data.caregiver_present,
        signed_at=timezone.now() if sign else None,
    )
    # A draft's measurements are replaced as a whole; the triggers keep the old rows' history.
    encounter.measurements.all().delete()
    _write_encounter_children(actor=actor, encounter=encounter, data=data, with_actions=False)
    _update_agreed_actions(encounter, [t.strip() for t in (data.agreed_actions or []) if t.strip()])
    if sign:
        _record_signing(actor=actor, encounter=encounter)
    return encounter


def _update_agreed_actions(encounter: Encounter, texts: list[str]) -> None:
    """Agreed actions are edited in place, line by line, so that one already turned into a task
    keeps its link. Removing such a line is refused rather than losing the task's origin."""
    existing = list(encounter.agreed_actions.order_by("position", "id"))
    for position, text in enumerate(texts):
        if position < len(existing):
            action = existing[position]
            if action.text != text:
                action.text = text
                action.save(update_fields=["text"])
        else:
            AgreedAction.objects.create(encounter=encounter, text=text, position=position)
    for action in existing[len(texts) :]:
        try:
            with transaction.atomic():
                action.delete()
        except ProtectedError:
            raise ValidationError(
                {
                    "agreed_actions": _("“%(text)s” has become a task; cancel the task instead of removing the line.")
                    % {"text": action.text}
                }
            ) from None


@transaction.atomic
def encounter_sign(
    *, actor: User, encounter: Encounter, expected_version: int, at: datetime.datetime | None = None
) -> Encounter:
    """Signs a draft: from then on its values are part of the record. `at` dates a signature given
    in the past (the demo's history); it cannot be in the future nor before the encounter."""
    _ensure_draft_by(actor, encounter)
    signed_at = at or timezone.now()
    if signed_at > timezone.now() or signed_at < encounter.started_at:
        raise ValidationError(_("A signature cannot be dated in the future or before the encounter."))
    _bump_version(Encounter, encounter, expected_version, signed_at=signed_at)
    _record_signing(actor=actor, encounter=encounter)
    return encounter


@transaction.atomic
def encounter_amend(*, actor: User, encounter: Encounter, text: str) -> Amendment:
    if not encounter.is_signed:
        raise ValidationError(_("A draft is changed directly; amendments are for signed encounters."))
    if not text.strip():
        raise ValidationError({"text": _("Write the correction.")})
    return Amendment.objects.create(encounter=encounter, author=actor, text=text.strip())


@transaction.atomic
def measurement_record(*, actor: User, patient: Patient, measurement: MeasurementInput, measured_at) -> Measurement:
    validate_measurement(measurement, field="value")
    _validate_not_future(measured_at, field="measured_at")
    return Measurement.objects.create(
        patient=patient,
        type=measurement.type,
        value=measurement.value,
        result=measurement.result,
        measured_at=measured_at,
        source=MeasurementSource.MANUAL,
        recorded_by=actor,
    )


@transaction.atomic
def measurement_correct(
    *, actor: User, measurement: Measurement, value: Decimal | None, reason: str, result: str = ""
) -> Measurement:
    """Corrects a mistyped value of the record by a new row that names the one it replaces and
    why. The original is kept (and shown struck through); from now on the correction is the value
    that counts (patients.definitions.counted_measurements). Its time and origin are the
    original's: it is the same measurement, written correctly."""
    original = (
        Measurement.objects.select_for_update(of=("self",)).select_related("type", "encounter").get(pk=measurement.pk)
    )
    if original.source == MeasurementSource.ENCOUNTER and not original.encounter.is_signed:
        raise ValidationError(_("This value belongs to a draft: change the draft instead."))
    if Measurement.objects.filter(corrects=original).exists():
        raise ValidationError(_("This value has already been corrected. Correct the current value instead."))
    if not reason.strip():
        raise ValidationError({"reason": _("Give the reason for the correction.")})
    corrected = MeasurementInput(type=original.type, value=value, result=result)
    validate_measurement(corrected, field="result" if original.type.kind == MeasurementKind.PROCEDURE else "value")
    if (corrected.value, corrected.result) == (original.value, original.result):
        raise ValidationError(_("The corrected value is the same as the original."))
    return Measurement.objects.create(
        patient_id=original.patient_id,
        type=original.type,
        value=corrected.value,
        result=corrected.result,
        measured_at=original.measured_at,
        source=original.source,
        encounter=original.encounter,
        recorded_by=actor,
        corrects=original,
        correction_reason=reason.strip(),
    )


# --- goals ----------------------------------------------------------------------------------------


@dataclass
class GoalData:
    text: str
    review_on: datetime.date
    measurement_type: MeasurementType | None = None
    target_low: Decimal | None = None
    target_high: Decimal | None = None
    status: str = GoalStatus.ACTIVE
    achieved_on: datetime.date | None = None


def _validate_goal(data: GoalData) -> None:
    if not data.text.strip():
        raise ValidationError({"text": _("Write the goal in the citizen's own words.")})
    has_target = data.target_low is not None or data.target_high is not None
    if has_target and data.measurement_type is None:
        raise ValidationError({"measurement_type": _("Choose the measurement the target range is for.")})
    if data.measurement_type is not None and data.measurement_type.kind == MeasurementKind.PROCEDURE and has_target:
        raise ValidationError({"measurement_type": _("A target range needs a measurement with a numeric value.")})
    for field in ("target_low", "target_high"):
        if getattr(data, field) is not None:
            _validate_decimals(getattr(data, field), field=field)
    if data.target_low is not None and data.target_high is not None and data.target_low > data.target_high:
        raise ValidationError({"target_high": _("The upper end of the range must not be below the lower end.")})
    for field in ("target_low", "target_high"):
        bound = getattr(data, field)
        mt = data.measurement_type
        if bound is not None and mt is not None and not (mt.plausible_min <= bound <= mt.plausible_max):
            raise ValidationError(
                {
                    field: _("The target must lie within %(low)s–%(high)s %(unit)s.")
                    % {"low": number(mt.plausible_min), "high": number(mt.plausible_max), "unit": mt.unit}
                }
            )
    if data.status == GoalStatus.ACHIEVED and data.achieved_on is None:
        raise ValidationError({"achieved_on": _("Give the date the goal was achieved.")})
    if data.achieved_on and data.achieved_on > timezone.localdate():
        raise ValidationError({"achieved_on": _("The date cannot be in the future.")})


@transaction.atomic
def goal_create(*, actor: User, patient: Patient, data: GoalData) -> Goal:
    _validate_goal(data)
    if data.review_on < timezone.localdate():
        raise ValidationError({"review_on": _("The review date cannot be in the past.")})
    return Goal.objects.create(
        patient=patient,
        text=data.text.strip(),
        measurement_type=data.measurement_type,
        target_low=data.target_low,
        target_high=data.target_high,
        review_on=data.review_on,
        status=data.status,
        achieved_on=data.achieved_on if data.status == GoalStatus.ACHIEVED else None,
        dropped_on=_dropped_on(None, data.status),
        created_by=actor,
    )


@transaction.atomic
def goal_update(*, actor: User, goal: Goal, expected_version: int, data: GoalData) -> Goal:
    _validate_goal(data)
    _bump_version(
        Goal,
        goal,
        expected_version,
        text=data.text.strip(),
        measurement_type=data.measurement_type,
        target_low=data.target_low,
        target_high=data.target_high,
        review_on=data.review_on,
        status=data.status,
        achieved_on=data.achieved_on if data.status == GoalStatus.ACHIEVED else None,
        dropped_on=_dropped_on(goal, data.status),
    )
    return goal


def _dropped_on(goal: Goal | None, status: str) -> datetime.date | None:
    """The day a goal stopped being relevant: kept while it stays dropped, today when it becomes so."""
    if status != GoalStatus.DROPPED:
        return None
    if goal is not None and goal.status == GoalStatus.DROPPED and goal.dropped_on:
        return goal.dropped_on
    return timezone.localdate()


# --- relatives, consents, conditions, enrolments -------------------------------------------------------


def _lock(patient: Patient) -> None:
    """Serialises writes to one citizen's small records, so that a double click cannot slip two
    rows past the duplicate checks below."""
    Patient.objects.select_for_update().filter(pk=patient.pk).first()


@transaction.atomic
def relative_add(
    *,
    actor: User,
    patient: Patient,
    name: str,
    relation: str,
    phone: str,
    is_primary_caregiver: bool,
    may_receive_information: bool,
    primary_caregiver_from: datetime.date | None = None,
) -> Relative:
    _lock(patient)
    try:
        phone = phones.parse_phone(phone)
    except ValidationError as error:
        raise ValidationError({"phone": error.messages}) from None
    since = primary_caregiver_from or timezone.localdate()
    if since > timezone.localdate():
        raise ValidationError({"primary_caregiver_from": _("The date cannot be in the future.")})
    if (
        may_receive_information
        and not patient.consents.filter(kind="share_relatives", withdrawn_on__isnull=True).exists()
    ):
        raise ValidationError(
            {"may_receive_information": _("Record the citizen's consent to share information with relatives first.")}
        )
    if is_primary_caregiver:
        # Only one primary caregiver: the new one takes over from the day given, and the role of
        # the one before ends that day (kept with its dates, so past months stay as they were).
        previous = patient.relatives.filter(is_primary_caregiver=True).first()
        if previous is not None:
            if since < previous.primary_caregiver_from:
                raise ValidationError(
                    {"primary_caregiver_from": _("The current primary caregiver has the role from a later date.")}
                )
            previous.is_primary_caregiver = False
            previous.primary_caregiver_until = since
            previous.save(update_fields=["is_primary_caregiver", "primary_caregiver_until"])
    return Relative.objects.create(
        patient=patient,
        name=name.strip(),
        relation=relation.strip(),
        phone=phone,
        is_primary_caregiver=is_primary_caregiver,
        primary_caregiver_from=since if is_primary_caregiver else None,
        may_receive_information=may_receive_information,
    )


@transaction.atomic
def consent_give(*, actor: User, patient: Patient, kind: str, given_on: datetime.date, given_by: str) -> Consent:
    _lock(patient)
    if given_on > timezone.localdate():
        raise ValidationError({"given_on": _("The date cannot be in the future.")})
    require_choice(kind, ConsentKind, field="kind")
    if patient.consents.filter(kind=kind, withdrawn_on__isnull=True).exists():
        raise ValidationError({"kind": _("This consent is already given.")})
    return Consent.objects.create(
        patient=patient, kind=kind, given_on=given_on, given_by=given_by.strip(), recorded_by=actor
    )


@transaction.atomic
def consent_withdraw(*, actor: User, consent: Consent, withdrawn_on: datetime.date, withdrawn_by: str) -> Consent:
    locked = Consent.objects.select_for_update().get(pk=consent.pk)
    if locked.withdrawn_on is not None:
        raise ValidationError(_("This consent has already been withdrawn."))
    if withdrawn_on > timezone.localdate():
        raise ValidationError({"withdrawn_on": _("The date cannot be in the future.")})
    if withdrawn_on < locked.given_on:
        raise ValidationError({"withdrawn_on": _("A consent cannot be withdrawn before it was given.")})
    locked.withdrawn_on = withdrawn_on
    locked.withdrawn_by = withdrawn_by.strip()
    locked.save(update_fields=["withdrawn_on", "withdrawn_by"])
    if locked.kind == "share_relatives":
        # Without the consent no relative may receive information any longer.
        locked.patient.relatives.filter(may_receive_information=True).update(may_receive_information=False)
    return locked


@transaction.atomic
def condition_add(
    *, actor: User, patient: Patient, kind: str, icd10: str, diagnosed_on: datetime.date | None
) -> Condition:
    _lock(patient)
    require_choice(kind, ConditionKind, field="kind")
    # The figures count a diagnosis from its date on, so the date is part of the diagnosis.
    if diagnosed_on is None:
        raise ValidationError({"diagnosed_on": _("Give the date of the diagnosis.")})
    if diagnosed_on > timezone.localdate():
        raise ValidationError({"diagnosed_on": _("The date cannot be in the future.")})
    if diagnosed_on < patient.birth_date:
        raise ValidationError({"diagnosed_on": _("The date cannot be before the citizen was born.")})
    if patient.conditions.filter(kind=kind).exists():
        raise ValidationError({"kind": _("This condition is already registered.")})
    return Condition.objects.create(
        patient=patient, kind=kind, icd10=(icd10.strip().upper() or ICD10_BY_CONDITION[kind]), diagnosed_on=diagnosed_on
    )


@transaction.atomic
def enrolment_create(
    *, actor: User, patient: Patient, programme: Programme, referral_received_on: datetime.date, start_on: datetime.date
) -> Enrolment:
    _lock(patient)
    if referral_received_on > timezone.localdate():
        raise ValidationError({"referral_received_on": _("The date cannot be in the future.")})
    if start_on < referral_received_on:
        raise ValidationError({"start_on": _("The start cannot be before the referral was received.")})
    if patient.enrolments.filter(programme=programme, end_on__isnull=True).exists():
        raise ValidationError({"programme": _("The citizen is already enrolled in this programme.")})
    return Enrolment.objects.create(
        patient=patient, programme=programme, referral_received_on=referral_received_on, start_on=start_on
    )


@transaction.atomic
def enrolment_end(*, actor: User, enrolment: Enrolment, end_on: datetime.date, end_reason: str) -> Enrolment:
    require_choice(end_reason, EndReason, field="end_reason")
    locked = Enrolment.objects.select_for_update().get(pk=enrolment.pk)
    if locked.end_on is not None:
        raise ValidationError(_("This enrolment has already ended."))
    if end_on < locked.start_on:
        raise ValidationError({"end_on": _("The end cannot be before the start.")})
    if end_on > timezone.localdate():
        raise ValidationError({"end_on": _("The date cannot be in the future.")})
    locked.end_on = end_on
    locked.end_reason = end_reason
    locked.save(update_fields=["end_on", "end_reason"])
    return locked
