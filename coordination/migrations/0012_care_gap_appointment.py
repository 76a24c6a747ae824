"""A care gap remembers the appointment booked from its "Book" button (issue 13)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0011_care_gap_job_reads_through_indexes"),
        ("scheduling", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="caregap",
            name="appointment",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="scheduling.appointment",
                verbose_name="appointment",
            ),
        ),
    ]
