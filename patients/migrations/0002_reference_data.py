"""The measurement catalogue and the programmes from DESIGN.md. Administrators maintain them
afterwards in the admin; codes are stable identifiers that the code refers to."""

from decimal import Decimal

from django.db import migrations

CATALOGUE = [
    # code, Danish, English, kind, unit, min, max, decimals, system, code
    ("hba1c", "HbA1c", "HbA1c", "numeric", "mmol/mol", 20, 200, 0, "LOINC", "59261-8"),
    ("weight", "Vægt", "Weight", "numeric", "kg", 20, 300, 1, "LOINC", "29463-7"),
    ("height", "Højde", "Height", "numeric", "cm", 100, 230, 0, "LOINC", "8302-2"),
    ("systolic_bp", "Systolisk blodtryk", "Systolic blood pressure", "numeric", "mmHg", 60, 260, 0, "LOINC", "8480-6"),
    (
        "diastolic_bp",
        "Diastolisk blodtryk",
        "Diastolic blood pressure",
        "numeric",
        "mmHg",
        30,
        160,
        0,
        "LOINC",
        "8462-4",
    ),
    ("ldl", "LDL-kolesterol", "LDL cholesterol", "numeric", "mmol/L", Decimal("0.2"), 15, 1, "LOINC", "39469-2"),
    (
        "urine_acr",
        "Urin albumin/kreatinin-ratio",
        "Urine albumin/creatinine ratio",
        "numeric",
        "mg/mmol",
        0,
        300,
        1,
        "LOINC",
        "9318-7",
    ),
    ("mmse", "MMSE", "MMSE", "numeric", "point", 0, 30, 0, "LOINC", "72106-8"),
    ("foot_exam", "Fodundersøgelse", "Foot examination", "procedure", "", None, None, 0, "SNOMED", "401191002"),
    ("eye_screening", "Øjenscreening", "Eye screening", "procedure", "", None, None, 0, "SNOMED", "134395001"),
]

PROGRAMMES = [
    ("diabetes-course", "Diabetesskole", "Diabetes course", "diabetes"),
    ("diabetes-follow-up", "Diabetesopfølgning", "Diabetes follow-up", "diabetes"),
    ("dementia-follow-up", "Demensopfølgning", "Dementia follow-up", "dementia"),
    ("caregiver-support", "Pårørendestøtte", "Caregiver support", "dementia"),
]


def load(apps, schema_editor):
    MeasurementType = apps.get_model("patients", "MeasurementType")
    Programme = apps.get_model("patients", "Programme")
    for order, (code, da, en, kind, unit, low, high, decimals, system, coding) in enumerate(CATALOGUE):
        MeasurementType.objects.update_or_create(
            code=code,
            defaults={
                "label_da": da,
                "label_en": en,
                "kind": kind,
                "unit": unit,
                "plausible_min": low,
                "plausible_max": high,
                "decimal_places": decimals,
                "coding_system": system,
                "coding_code": coding,
                "display_order": order,
            },
        )
    for code, da, en, group in PROGRAMMES:
        Programme.objects.update_or_create(code=code, defaults={"name_da": da, "name_en": en, "condition_group": group})


class Migration(migrations.Migration):
    dependencies = [("patients", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
