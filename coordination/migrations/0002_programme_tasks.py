from django.db import migrations

PLANS = [
    # programme, Danish, English, days after start, repeat every (months)
    ("diabetes-course", "Velkomstsamtale før holdstart", "Welcome conversation before the course", 7, None),
    ("diabetes-follow-up", "Kvartalsvis opfølgning med HbA1c", "Quarterly follow-up with HbA1c", 90, 3),
    ("dementia-follow-up", "Første hjemmebesøg", "First home visit", 14, None),
    ("dementia-follow-up", "Halvårlig opfølgning med MMSE", "Half-yearly follow-up with MMSE", 180, 6),
    ("caregiver-support", "Samtale med den primære pårørende", "Conversation with the primary caregiver", 21, 6),
]


def load(apps, schema_editor):
    Programme = apps.get_model("patients", "Programme")
    ProgrammeTask = apps.get_model("coordination", "ProgrammeTask")
    for code, da, en, days, months in PLANS:
        programme = Programme.objects.filter(code=code).first()
        if programme is not None:
            ProgrammeTask.objects.get_or_create(
                programme=programme,
                title_da=da,
                defaults={"title_en": en, "days_after_start": days, "recurrence_months": months},
            )


class Migration(migrations.Migration):
    dependencies = [("coordination", "0001_initial"), ("patients", "0002_reference_data")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
