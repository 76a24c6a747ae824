from decimal import Decimal

from django.db import migrations

INDICATORS = [
    (
        "OPS-TASKS-OVERDUE",
        "Åbne opgaver over fristen",
        "Open tasks past due",
        "share",
        "",
        5,
        "lt",
        "Centrets egen",
        20,
    ),
    (
        "OPS-LOOP-CLOSED",
        "Aftalte handlinger udført inden fristen",
        "Agreed actions done by their due date",
        "share",
        "",
        80,
        "gte",
        "Centrets egen",
        21,
    ),
    (
        "STORIES-APPROVED",
        "Gode historier godkendt",
        "Good stories approved",
        "count",
        "",
        1,
        "gte",
        "Artiklens gode historier",
        22,
    ),
]


def load(apps, schema_editor):
    Indicator = apps.get_model("reporting", "Indicator")
    for code, da, en, kind, group, target, direction, source, order in INDICATORS:
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
    dependencies = [("reporting", "0004_indicator_kind_count")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
