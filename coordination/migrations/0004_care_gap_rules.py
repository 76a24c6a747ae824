"""The care-gap rules of issue 4 as reference data."""

from decimal import Decimal

from django.db import migrations

RULES = [
    # code, Danish, English, group, check, measurement, months, weeks, threshold
    (
        "hba1c-12m",
        "HbA1c ikke målt i 12 måneder",
        "HbA1c not measured in 12 months",
        "diabetes",
        "measurement_due",
        "hba1c",
        12,
        None,
        None,
    ),
    (
        "bp-12m",
        "Blodtryk ikke målt i 12 måneder",
        "Blood pressure not measured in 12 months",
        "diabetes",
        "measurement_due",
        "systolic_bp",
        12,
        None,
        None,
    ),
    (
        "foot-24m",
        "Fodundersøgelse ikke lavet i 2 år",
        "Foot examination not done in 2 years",
        "diabetes",
        "measurement_due",
        "foot_exam",
        24,
        None,
        None,
    ),
    (
        "eye-24m",
        "Øjenscreening ikke lavet i 2 år",
        "Eye screening not done in 2 years",
        "diabetes",
        "measurement_due",
        "eye_screening",
        24,
        None,
        None,
    ),
    (
        "albumin-24m",
        "Urin-albumin ikke målt i 2 år",
        "Urine albumin not measured in 2 years",
        "diabetes",
        "measurement_due",
        "urine_acr",
        24,
        None,
        None,
    ),
    (
        "mmse-12m",
        "MMSE ikke lavet i 12 måneder",
        "MMSE not done in 12 months",
        "dementia",
        "measurement_due",
        "mmse",
        12,
        None,
        None,
    ),
    (
        "caregiver-6m",
        "Ingen kontakt med primær pårørende i 6 måneder",
        "No contact with the primary caregiver in 6 months",
        "dementia",
        "caregiver_due",
        "",
        6,
        None,
        None,
    ),
    (
        "contact-8w",
        "Ingen kontakt i 8 uger under et aktivt forløb",
        "No encounter in 8 weeks during an active enrolment",
        "",
        "encounter_due",
        "",
        None,
        8,
        None,
    ),
    (
        "hba1c-rising",
        "HbA1c stiget 5 mmol/mol eller mere",
        "HbA1c rising by 5 mmol/mol or more",
        "diabetes",
        "rising",
        "hba1c",
        None,
        None,
        Decimal(5),
    ),
    (
        "mmse-falling",
        "MMSE faldet 3 point eller mere",
        "MMSE falling by 3 points or more",
        "dementia",
        "falling",
        "mmse",
        None,
        None,
        Decimal(3),
    ),
]


def load(apps, schema_editor):
    CareGapRule = apps.get_model("coordination", "CareGapRule")
    for code, da, en, group, check, measurement, months, weeks, threshold in RULES:
        CareGapRule.objects.update_or_create(
            code=code,
            defaults={
                "name_da": da,
                "name_en": en,
                "condition_group": group,
                "check_kind": check,
                "measurement_code": measurement,
                "interval_months": months,
                "interval_weeks": weeks,
                "threshold": threshold,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("coordination", "0003_care_gaps")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
