"""The indicator table of DESIGN.md as reference data."""

from decimal import Decimal

from django.db import migrations

INDICATORS = [
    # code, Danish, English, kind, group, target, direction, source
    (
        "DM-HBA1C-MEASURED",
        "HbA1c målt inden for 12 måneder",
        "HbA1c measured in the last 12 months",
        "share",
        "diabetes",
        95,
        "gte",
        "Dansk Diabetes Database",
    ),
    (
        "DM-HBA1C-LT59",
        "Seneste HbA1c under 59 mmol/mol",
        "Latest HbA1c below 59 mmol/mol",
        "share",
        "diabetes",
        40,
        "gt",
        "Dansk Diabetes Database 1.f1",
    ),
    (
        "DM-HBA1C-GE75",
        "Seneste HbA1c 75 mmol/mol eller derover",
        "Latest HbA1c 75 mmol/mol or above",
        "share",
        "diabetes",
        20,
        "lt",
        "Dansk Diabetes Database 1.f2",
    ),
    (
        "DM-AT-OWN-TARGET",
        "Seneste HbA1c inden for borgerens eget mål",
        "Latest HbA1c within the citizen's own range",
        "share",
        "diabetes",
        60,
        "gt",
        "Centrets egen",
    ),
    (
        "DM-BP-MEASURED",
        "Blodtryk målt inden for 12 måneder",
        "Blood pressure measured in the last 12 months",
        "share",
        "diabetes",
        95,
        "gte",
        "Dansk Diabetes Database 2.f",
    ),
    (
        "DM-ALBUMIN-SCREENED",
        "Urin-albumin screenet inden for 2 år",
        "Urine albumin screened in the last 2 years",
        "share",
        "diabetes",
        95,
        "gte",
        "Dansk Diabetes Database 3.f",
    ),
    (
        "DM-EYE-SCREENED",
        "Øjenscreening inden for 2 år",
        "Eye screening in the last 2 years",
        "share",
        "diabetes",
        90,
        "gte",
        "Dansk Diabetes Database 4.f",
    ),
    (
        "DM-FOOT-EXAMINED",
        "Fodundersøgelse inden for 2 år",
        "Foot examination in the last 2 years",
        "share",
        "diabetes",
        95,
        "gte",
        "Dansk Diabetes Database 5.f",
    ),
    (
        "DEM-SPECIFIC-DIAGNOSIS",
        "Demens med specifik diagnose",
        "Dementia with a specific diagnosis",
        "share",
        "dementia",
        80,
        "gte",
        "National demenshandlingsplan 2025",
    ),
    (
        "DEM-COGNITION-TESTED",
        "MMSE inden for 12 måneder",
        "MMSE in the last 12 months",
        "share",
        "dementia",
        90,
        "gte",
        "Centrets egen",
    ),
    (
        "DEM-CAREGIVER-CONTACT",
        "Primær pårørende registreret og talt med inden for 6 måneder",
        "Primary caregiver registered and spoken with in the last 6 months",
        "share",
        "dementia",
        80,
        "gte",
        "Centrets egen",
    ),
    (
        "OPS-WAIT-DAYS",
        "Median dage fra henvisning til første kontakt",
        "Median days from referral to first encounter",
        "median_days",
        "",
        14,
        "lte",
        "Centrets egen",
    ),
]


def load(apps, schema_editor):
    Indicator = apps.get_model("reporting", "Indicator")
    for order, (code, da, en, kind, group, target, direction, source) in enumerate(INDICATORS):
        Indicator.objects.update_or_create(
            code=code,
            defaults={
                "name_da": da,
                "name_en": en,
                "kind": kind,
                "condition_group": group,
                "target": Decimal(target),
                "direction": direction,
                "source": source,
                "display_order": order,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("reporting", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
