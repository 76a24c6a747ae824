import uuid

import pghistory
import pgtrigger
from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import models
from django.db.models import Func, Q, Value
from django.db.models.functions import Concat, Lower
from django.utils import formats, timezone, translation
from django.utils.translation import gettext_lazy as _

from healthcenter import formatting
from healthcenter.models import Team

from . import cpr as cpr_rules
from . import phones


# Every clinical table keeps its full change history through database triggers, so bulk
# updates and raw SQL are recorded too; the acting user comes from pghistory's middleware.
def tracked(model):
    # Fresh trackers per model: pghistory's tracker objects keep per-model state.
    return pghistory.track(pghistory.InsertEvent(), pghistory.UpdateEvent(), pghistory.DeleteEvent())(model)


# Letters spelt out the way Danish is typed on a keyboard without them (and other accents
# dropped); `plain` drops the Danish letters' marks instead: Søren is both "soeren" and "soren".
# Both cases are listed: PostgreSQL's lower() leaves non-ASCII letters alone in the C locale.
SPELT_OUT = [
    (letter, spelt)
    for lower, spelt in [("å", "aa"), ("ø", "oe"), ("æ", "ae"), ("ö", "oe"), ("ä", "ae"), ("ü", "ue")]
    for letter in (lower, lower.upper())
]
ACCENTED = "éèêëáàâóòôíìîïúùûýçñ" + "éèêëáàâóòôíìîïúùûýçñ".upper()
UNACCENTED = "eeeeaaaoooiiiiuuuycn" * 2
PLAIN = ("åøöäüÅØÖÄÜ", "aooauaooau")


def searchable(expression, *, plain: bool = False) -> Func:
    """A name or a search term in the form names are searched in: lower case, accents dropped,
    Danish letters spelt out. Only immutable functions (lower, translate, replace), so PostgreSQL
    can keep the result in a generated column and constant-fold it for a search term."""
    text = models.TextField()
    folded = Func(Lower(expression), Value(ACCENTED), Value(UNACCENTED), function="translate", output_field=text)
    if plain:
        return Func(folded, Value(PLAIN[0]), Value(PLAIN[1]), function="translate", output_field=text)
    for letter, spelt in SPELT_OUT:
        folded = Func(folded, Value(letter), Value(spelt), function="replace", output_field=text)
    return folded


class Sex(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class PatientStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    DISCHARGED = "discharged", _("Discharged")
    DECEASED = "deceased", _("Deceased")


@tracked
class Patient(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # unique=True also gives PostgreSQL a varchar_pattern_ops index, which serves CPR prefix search.
    cpr = models.CharField(_("CPR number"), max_length=10, unique=True)
    first_name = models.CharField(_("first name"), max_length=100)
    last_name = models.CharField(_("last name"), max_length=100)
    # The name as people type it (see `searchable`), with each name also spelt without Danish
    # letters, so that "aase", "åse" and "ase" all find Åse.
    search_name = models.GeneratedField(
        expression=Concat(
            searchable(Concat("first_name", models.Value(" "), "last_name")),
            models.Value(" ", output_field=models.TextField()),
            searchable(Concat("first_name", models.Value(" "), "last_name"), plain=True),
        ),
        output_field=models.TextField(),
        db_persist=True,
    )
    birth_date = models.DateField(_("birth date"))
    sex = models.CharField(_("sex"), max_length=6, choices=Sex.choices)
    address = models.CharField(_("address"), max_length=200, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=4, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    email = models.EmailField(_("email"), blank=True)
    gp_name = models.CharField(_("general practitioner"), max_length=200, blank=True)
    gp_phone = models.CharField(_("GP phone"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=PatientStatus.choices, default=PatientStatus.ACTIVE)
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, related_name="patients", verbose_name=_("responsible team")
    )
    responsible_professional = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responsible_for",
        verbose_name=_("responsible professional"),
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("citizen")
        verbose_name_plural = _("citizens")
        indexes = [
            # Name search on the patient list: search_name LIKE '%term%'.
            GinIndex(OpClass("search_name", name="gin_trgm_ops"), name="patient_name_trgm"),
            # The patient list: the team's citizens in name order.
            models.Index(fields=["team", "last_name", "first_name", "id"], name="patient_team_name"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(cpr__regex=r"^\d{10}$"), name="patient_cpr_ten_digits"),
        ]
        triggers = [
            # The responsible team over time, whoever changes it (a service, the admin, bulk SQL):
            # figures for a past month count the citizen for the team of that month's last day.
            pgtrigger.Trigger(
                name="keep_team_history",
                when=pgtrigger.After,
                operation=pgtrigger.Insert | pgtrigger.UpdateOf("team_id"),
                func=f"""
                IF TG_OP = 'INSERT' OR NEW.team_id IS DISTINCT FROM OLD.team_id THEN
                    INSERT INTO patients_teamresponsibility (patient_id, team_id, valid_from, recorded_at)
                    VALUES (
                        NEW.id,
                        NEW.team_id,
                        CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE COALESCE(
                            NULLIF(current_setting('healthcenter.team_change_on', true), '')::date,
                            (now() AT TIME ZONE '{settings.TIME_ZONE}')::date
                        ) END,
                        now()
                    );
                END IF;
                RETURN NULL;
                """,  # noqa: S608  # nosec B608  # the time zone is a setting, not input
            ),
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def age(self) -> int:
        today = timezone.localdate()
        had_birthday = (today.month, today.day) >= (self.birth_date.month, self.birth_date.day)
        return today.year - self.birth_date.year - (0 if had_birthday else 1)

    @property
    def cpr_formatted(self) -> str:
        return cpr_rules.formatted(self.cpr)

    @property
    def cpr_masked(self) -> str:
        return cpr_rules.mask(self.cpr)

    @property
    def phone_formatted(self) -> str:
        return phones.formatted(self.phone)

    @property
    def gp_phone_formatted(self) -> str:
        return phones.formatted(self.gp_phone)


class TeamResponsibility(models.Model):
    """Which team was responsible for a citizen from which day. Written by a trigger on the
    citizen's row; the first row has no date: that team is responsible from the start."""

    # No index of its own: teamresp_patient_from leads with the citizen and serves every query by it.
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="team_history", db_index=False)
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField(_("from"), null=True, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("responsible team")
        verbose_name_plural = _("responsible teams")
        indexes = [
            # patients.definitions.team_on: a citizen's latest row dated on or before a day.
            models.Index(fields=["patient", "valid_from", "id"], name="teamresp_patient_from"),
        ]

    def __str__(self):
        return f"{self.team_id} from {self.valid_from or '-'}"


@tracked
class Relative(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="relatives")
    name = models.CharField(_("name"), max_length=200)
    relation = models.CharField(_("relation"), max_length=100, help_text=_("e.g. daughter, husband, neighbour"))
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    is_primary_caregiver = models.BooleanField(_("primary caregiver"), default=False)
    # The primary-caregiver role with its dates: from the first day through the day before `until`.
    primary_caregiver_from = models.DateField(_("primary caregiver from"), null=True, blank=True)
    primary_caregiver_until = models.DateField(_("primary caregiver until"), null=True, blank=True)
    may_receive_information = models.BooleanField(
        _("may receive information"),
        default=False,
        help_text=_("Only with the citizen's consent to share information with relatives."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("relative")
        verbose_name_plural = _("relatives")
        constraints = [
            models.UniqueConstraint(
                fields=["patient"], condition=Q(is_primary_caregiver=True), name="one_primary_caregiver_per_patient"
            ),
            models.CheckConstraint(
                condition=Q(is_primary_caregiver=False) | Q(primary_caregiver_from__isnull=False),
                name="primary_caregiver_has_start",
            ),
            models.CheckConstraint(
                condition=Q(primary_caregiver_until__isnull=True)
                | Q(
                    primary_caregiver_from__isnull=False,
                    primary_caregiver_until__gte=models.F("primary_caregiver_from"),
                ),
                name="primary_caregiver_period_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.relation})"

    @property
    def phone_formatted(self) -> str:
        return phones.formatted(self.phone)


class ConsentKind(models.TextChoices):
    TREATMENT = "treatment", _("Treatment")
    SHARE_WITH_RELATIVES = "share_relatives", _("Share information with relatives")
    STORY_IN_REPORTS = "story_reports", _("Use of story in reports")


@tracked
class Consent(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="consents")
    kind = models.CharField(_("kind"), max_length=20, choices=ConsentKind.choices)
    given_on = models.DateField(_("given on"))
    given_by = models.CharField(
        _("given by"), max_length=200, help_text=_("The citizen, or who gave it on their behalf")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("recorded by")
    )
    withdrawn_on = models.DateField(_("withdrawn on"), null=True, blank=True)
    withdrawn_by = models.CharField(_("withdrawn by"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "kind"], condition=Q(withdrawn_on__isnull=True), name="one_active_consent_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(withdrawn_on__isnull=True) | Q(withdrawn_on__gte=models.F("given_on")),
                name="consent_withdrawn_after_given",
            ),
        ]

    def __str__(self):
        return self.get_kind_display()

    @property
    def is_active(self) -> bool:
        return self.withdrawn_on is None


class ConditionKind(models.TextChoices):
    DIABETES_TYPE_1 = "dm1", _("Type 1 diabetes")
    DIABETES_TYPE_2 = "dm2", _("Type 2 diabetes")
    PREDIABETES = "prediabetes", _("Prediabetes")
    DEMENTIA_ALZHEIMER = "dem_alzheimer", _("Alzheimer's dementia")
    DEMENTIA_VASCULAR = "dem_vascular", _("Vascular dementia")
    DEMENTIA_MIXED = "dem_mixed", _("Mixed dementia")
    DEMENTIA_LEWY = "dem_lewy", _("Dementia with Lewy bodies")
    DEMENTIA_FRONTOTEMPORAL = "dem_frontotemporal", _("Frontotemporal dementia")
    DEMENTIA_UNSPECIFIED = "dem_unspecified", _("Dementia, unspecified")
    MILD_COGNITIVE_IMPAIRMENT = "mci", _("Mild cognitive impairment")


# The ICD-10 code a diagnosis is recorded with by default (WHO ICD-10 as used in Denmark).
ICD10_BY_CONDITION = {
    ConditionKind.DIABETES_TYPE_1: "E10",
    ConditionKind.DIABETES_TYPE_2: "E11",
    ConditionKind.PREDIABETES: "R73",
    ConditionKind.DEMENTIA_ALZHEIMER: "F00",
    ConditionKind.DEMENTIA_VASCULAR: "F01",
    ConditionKind.DEMENTIA_MIXED: "F00.2",
    ConditionKind.DEMENTIA_LEWY: "G31.8",
    ConditionKind.DEMENTIA_FRONTOTEMPORAL: "G31.0",
    ConditionKind.DEMENTIA_UNSPECIFIED: "F03",
    ConditionKind.MILD_COGNITIVE_IMPAIRMENT: "F06.7",
}
DIABETES_CONDITIONS = [ConditionKind.DIABETES_TYPE_1, ConditionKind.DIABETES_TYPE_2, ConditionKind.PREDIABETES]
DEMENTIA_CONDITIONS = [k for k in ConditionKind if k.value.startswith("dem_")]


class ConditionGroup(models.TextChoices):
    DIABETES = "diabetes", _("Diabetes")
    DEMENTIA = "dementia", _("Dementia or cognitive impairment")


def conditions_in_group(group: str) -> list[str]:
    if group == ConditionGroup.DIABETES:
        return [k.value for k in DIABETES_CONDITIONS]
    return [k.value for k in DEMENTIA_CONDITIONS] + [ConditionKind.MILD_COGNITIVE_IMPAIRMENT.value]


@tracked
class Condition(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: condition_once_per_patient leads with the citizen and serves every query by it.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="conditions", db_index=False)
    kind = models.CharField(_("condition"), max_length=20, choices=ConditionKind.choices)
    icd10 = models.CharField(_("ICD-10 code"), max_length=10)
    diagnosed_on = models.DateField(_("diagnosed on"))

    class Meta:
        verbose_name = _("condition")
        verbose_name_plural = _("conditions")
        constraints = [
            models.UniqueConstraint(fields=["patient", "kind"], name="condition_once_per_patient"),
        ]
        indexes = [
            # Patient list filter by condition: EXISTS (... WHERE kind IN (...) AND patient_id = ...).
            models.Index(fields=["kind", "patient"], name="condition_kind_patient"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.icd10})"


class Programme(models.Model):
    """Reference data maintained by administrators."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_da = models.CharField(_("name (Danish)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    condition_group = models.CharField(_("target group"), max_length=10, choices=ConditionGroup.choices)

    class Meta:
        ordering = ["code"]
        verbose_name = _("programme")
        verbose_name_plural = _("programmes")

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if translation.get_language() == "en" else self.name_da


class EndReason(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    DROPPED_OUT = "dropped_out", _("Dropped out")
    MOVED = "moved", _("Moved away")
    DECEASED = "deceased", _("Deceased")
    TRANSFERRED = "transferred", _("Transferred to another service")


@tracked
class Enrolment(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: enrolment_patient_active leads with the citizen and serves every query by it.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="enrolments", db_index=False)
    programme = models.ForeignKey(
        Programme, on_delete=models.PROTECT, related_name="enrolments", verbose_name=_("programme")
    )
    referral_received_on = models.DateField(_("referral received"))
    start_on = models.DateField(_("start"))
    end_on = models.DateField(_("end"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=20, choices=EndReason.choices, blank=True)

    class Meta:
        verbose_name = _("programme enrolment")
        verbose_name_plural = _("programme enrolments")
        constraints = [
            models.CheckConstraint(
                condition=Q(start_on__gte=models.F("referral_received_on")), name="enrolment_starts_after_referral"
            ),
            models.CheckConstraint(
                condition=Q(end_on__isnull=True) | Q(end_on__gte=models.F("start_on")),
                name="enrolment_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(end_on__isnull=True, end_reason="") | (Q(end_on__isnull=False) & ~Q(end_reason="")),
                name="enrolment_end_has_reason",
            ),
            models.UniqueConstraint(
                fields=["patient", "programme"],
                condition=Q(end_on__isnull=True),
                name="one_open_enrolment_per_programme",
            ),
        ]
        indexes = [
            # Patient list filter by programme, and active enrolments on a date for the indicators.
            models.Index(fields=["programme", "patient"], name="enrolment_programme_patient"),
            # patients.definitions.followed_up(): "has this citizen an enrolment active on a day", asked per
            # citizen by the worklist, the caseload figures and the care-gap job, answered from the index alone.
            models.Index(
                fields=["patient", "start_on"], include=["end_on", "programme"], name="enrolment_patient_active"
            ),
        ]

    def __str__(self):
        return f"{self.programme} {self.start_on}"

    @property
    def is_active(self) -> bool:
        return self.end_on is None


class MeasurementKind(models.TextChoices):
    NUMERIC = "numeric", _("Numeric value")
    PROCEDURE = "procedure", _("Procedure with result")


class MeasurementType(models.Model):
    """The measurement catalogue (reference data). Codes are stable identifiers used in code."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    label_da = models.CharField(_("label (Danish)"), max_length=100)
    label_en = models.CharField(_("label (English)"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=MeasurementKind.choices, default=MeasurementKind.NUMERIC)
    unit = models.CharField(_("unit"), max_length=20, blank=True)
    plausible_min = models.DecimalField(_("plausible minimum"), max_digits=8, decimal_places=2, null=True, blank=True)
    plausible_max = models.DecimalField(_("plausible maximum"), max_digits=8, decimal_places=2, null=True, blank=True)
    decimal_places = models.PositiveSmallIntegerField(default=0)
    coding_system = models.CharField(_("coding system"), max_length=10, default="LOINC")
    coding_code = models.CharField(_("code in coding system"), max_length=20)
    display_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["display_order", "code"]
        verbose_name = _("measurement type")
        verbose_name_plural = _("measurement catalogue")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="procedure") | Q(plausible_min__isnull=False, plausible_max__isnull=False),
                name="numeric_type_has_range",
            ),
        ]

    def __str__(self):
        return self.label

    @property
    def label(self) -> str:
        return self.label_en if translation.get_language() == "en" else self.label_da


class EncounterKind(models.TextChoices):
    INDIVIDUAL = "individual", _("Individual conversation")
    GROUP = "group", _("Group session")
    HOME_VISIT = "home_visit", _("Home visit")
    PHONE = "phone", _("Phone")
    VIDEO = "video", _("Video")


@tracked
class Encounter(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: encounter_patient_time leads with the citizen and serves every query by it.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="encounters", db_index=False)
    professional = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="encounters", verbose_name=_("professional")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=EncounterKind.choices)
    started_at = models.DateTimeField(_("time"))
    duration_minutes = models.PositiveSmallIntegerField(_("duration (minutes)"))
    note = models.TextField(_("note"), blank=True)
    what_matters = models.TextField(
        _("what matters to the citizen"), blank=True, help_text=_("In the citizen's own words")
    )
    caregiver_present = models.BooleanField(
        _("the primary caregiver took part"),
        default=False,
        help_text=_("In person, by phone or by video"),
    )
    signed_at = models.DateTimeField(_("signed"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("encounter")
        verbose_name_plural = _("encounters")
        indexes = [
            # The patient page timeline: a citizen's encounters, newest first, keyset-paginated.
            models.Index(fields=["patient", "-started_at", "-id"], name="encounter_patient_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=1, duration_minutes__lte=600), name="encounter_duration_range"
            ),
        ]

    def __str__(self):
        when = formats.date_format(timezone.localtime(self.started_at), "SHORT_DATETIME_FORMAT")
        return f"{self.get_kind_display()} {when}"

    @property
    def is_signed(self) -> bool:
        return self.signed_at is not None


@tracked
class AgreedAction(models.Model):
    """One thing agreed with the citizen at an encounter; coordination turns it into a task."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, related_name="agreed_actions", verbose_name=_("encounter")
    )
    text = models.CharField(_("agreed action"), max_length=300)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("agreed action")
        verbose_name_plural = _("agreed actions")

    def __str__(self):
        return self.text


@tracked
class Amendment(models.Model):
    """A correction to a signed encounter. The signed original is never edited."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    encounter = models.ForeignKey(
        Encounter, on_delete=models.PROTECT, related_name="amendments", verbose_name=_("encounter")
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    text = models.TextField(_("correction"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("amendment")
        verbose_name_plural = _("amendments")

    def __str__(self):
        return self.text[:60]


class MeasurementSource(models.TextChoices):
    ENCOUNTER = "encounter", _("Encounter")
    LAB = "lab", _("Laboratory import")
    MANUAL = "manual", _("Entered by hand")


class ProcedureResult(models.TextChoices):
    NORMAL = "normal", _("Normal")
    ABNORMAL = "abnormal", _("Abnormal")


@tracked
class Measurement(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: measurement_patient_type_time leads with the citizen and serves every query by it.
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="measurements", db_index=False)
    type = models.ForeignKey(MeasurementType, on_delete=models.PROTECT, related_name="+", verbose_name=_("measurement"))
    value = models.DecimalField(_("value"), max_digits=8, decimal_places=2, null=True, blank=True)
    result = models.CharField(_("result"), max_length=10, choices=ProcedureResult.choices, blank=True)
    measured_at = models.DateTimeField(_("measured"))
    source = models.CharField(_("source"), max_length=10, choices=MeasurementSource.choices)
    encounter = models.ForeignKey(
        Encounter,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="measurements",
        verbose_name=_("encounter"),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("recorded by")
    )
    # Empty for rows recorded before the time was kept.
    recorded_at = models.DateTimeField(_("recorded"), default=timezone.now, null=True, blank=True)
    # A mistyped value is never edited: a correction is a new row that names the row it replaces
    # and why. The replaced row stays (shown struck through) but no longer counts.
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        verbose_name=_("corrects"),
        db_index=False,  # the unique constraint below indexes it
    )
    correction_reason = models.TextField(_("reason for the correction"), blank=True)

    class Meta:
        verbose_name = _("measurement")
        verbose_name_plural = _("measurements")
        indexes = [
            # Trend charts and "latest value" look-ups: one citizen, one type, in time order.
            models.Index(fields=["patient", "type", "-measured_at"], name="measurement_patient_type_time"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(value__isnull=False) & Q(result="")) | (Q(value__isnull=True) & ~Q(result="")),
                name="measurement_value_or_result",
            ),
            models.CheckConstraint(
                condition=~Q(source="encounter") | Q(encounter__isnull=False),
                name="encounter_measurement_has_encounter",
            ),
            # A value is corrected once; a second mistake corrects the correction. Also serves
            # counted_measurements(): NOT EXISTS (... WHERE corrects_id = measurement.id).
            models.UniqueConstraint(fields=["corrects"], name="measurement_corrected_once"),
            # The laboratory import's natural key: the same result sent twice is one row (patients.labimport
            # merges with ON CONFLICT on exactly these columns and this condition).
            models.UniqueConstraint(
                fields=["patient", "type", "measured_at", "value"],
                condition=Q(source="lab"),
                name="measurement_lab_natural_key",
            ),
            models.CheckConstraint(
                condition=Q(corrects__isnull=True, correction_reason="")
                | (Q(corrects__isnull=False) & ~Q(correction_reason="")),
                name="correction_names_its_reason",
            ),
        ]

    def __str__(self):
        shown = formatting.number(self.value) if self.value is not None else self.get_result_display()
        return f"{self.type.label} {shown} {self.type.unit}".strip()

    @property
    def is_correction(self) -> bool:
        return self.corrects_id is not None


class GoalStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ACHIEVED = "achieved", _("Achieved")
    DROPPED = "dropped", _("No longer relevant")


@tracked
class Goal(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="goals")
    text = models.TextField(_("goal in the citizen's words"))
    measurement_type = models.ForeignKey(
        MeasurementType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("measured by"),
    )
    target_low = models.DecimalField(_("target from"), max_digits=8, decimal_places=2, null=True, blank=True)
    target_high = models.DecimalField(_("target to"), max_digits=8, decimal_places=2, null=True, blank=True)
    review_on = models.DateField(_("review date"))
    status = models.CharField(_("status"), max_length=10, choices=GoalStatus.choices, default=GoalStatus.ACTIVE)
    achieved_on = models.DateField(_("achieved on"), null=True, blank=True)
    dropped_on = models.DateField(_("no longer relevant from"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("goal")
        verbose_name_plural = _("goals")
        constraints = [
            models.CheckConstraint(
                condition=Q(measurement_type__isnull=False) | Q(target_low__isnull=True, target_high__isnull=True),
                name="goal_target_needs_measurement",
            ),
            models.CheckConstraint(
                condition=Q(target_low__isnull=True)
                | Q(target_high__isnull=True)
                | Q(target_low__lte=models.F("target_high")),
                name="goal_target_ordered",
            ),
            models.CheckConstraint(
                condition=~Q(status="achieved") | Q(achieved_on__isnull=False), name="achieved_goal_has_date"
            ),
            models.CheckConstraint(
                condition=~Q(status="dropped") | Q(dropped_on__isnull=False), name="dropped_goal_has_date"
            ),
        ]

    def __str__(self):
        return self.text[:60]

    @property
    def has_target(self) -> bool:
        return self.target_low is not None or self.target_high is not None


# --- laboratory results in (issue 12) ---------------------------------------------------------------


class LabCode(models.Model):
    """Another code a laboratory sends for a catalogue measurement: the catalogue keeps one code per
    type (its LOINC code, `MeasurementType.coding_code`); the Danish NPU codes, and the LOINC code of
    HbA1c in %, are listed here (reference data, seeded by the migration 0010_lab_import)."""

    system = models.CharField(_("coding system"), max_length=10)
    code = models.CharField(_("code"), max_length=20, unique=True)
    type = models.ForeignKey(MeasurementType, on_delete=models.CASCADE, related_name="lab_codes")

    class Meta:
        ordering = ["type", "code"]
        verbose_name = _("laboratory code")
        verbose_name_plural = _("laboratory codes")

    def __str__(self):
        return f"{self.system} {self.code}"


class LabImportFormat(models.TextChoices):
    CSV = "csv", _("CSV")
    FHIR = "fhir", _("FHIR Bundle (JSON)")


class LabImportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class LabImport(models.Model):
    """One laboratory file: who sent it in and when, how far the job has come, and its outcome."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    file_name = models.CharField(_("file name"), max_length=255)
    stored_as = models.CharField(_("stored as"), max_length=500)
    format = models.CharField(_("format"), max_length=10, choices=LabImportFormat.choices)
    source = models.CharField(_("sent by"), max_length=100, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=LabImportStatus.choices, default=LabImportStatus.QUEUED
    )
    rows_read = models.PositiveIntegerField(_("rows read"), default=0)
    rows_loaded = models.PositiveIntegerField(_("rows added"), default=0)
    rows_known = models.PositiveIntegerField(_("rows already there"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    failure = models.TextField(_("failure"), blank=True)

    class Meta:
        ordering = ["-uploaded_at"]
        verbose_name = _("laboratory import")
        verbose_name_plural = _("laboratory imports")

    def __str__(self):
        return self.file_name


class LabImportError(models.Model):
    """A row the import refused, with its raw values and why (`reason` is a code of patients.labimport.REASONS)."""

    lab_import = models.ForeignKey(LabImport, on_delete=models.CASCADE, related_name="errors")
    row = models.PositiveIntegerField(_("row"))
    reason = models.CharField(_("reason"), max_length=30)
    cpr = models.CharField(max_length=40, blank=True)
    code = models.CharField(max_length=40, blank=True)
    value = models.CharField(max_length=40, blank=True)
    unit = models.CharField(max_length=40, blank=True)
    sampled_at = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["lab_import", "row"]
        indexes = [models.Index(fields=["lab_import", "row"], name="labimporterror_import_row")]

    def __str__(self):
        return f"{self.row}: {self.reason}"
