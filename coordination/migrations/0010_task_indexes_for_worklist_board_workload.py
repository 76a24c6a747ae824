"""Indexes for the team pages at scale (issue 11), each named for its query (coordination/models.py
says which): the worklist's overdue count per citizen and the open tasks of a team's citizens, the
board's tasks done and cancelled in the last 7 days."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0009_care_gap_reviews_and_changes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                condition=models.Q(("status__in", ["open", "in_progress"])),
                fields=["patient", "due_on"],
                name="task_open_by_patient_due",
            ),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                condition=models.Q(("status", "done")), fields=["completed_at"], name="task_done_by_completion"
            ),
        ),
        migrations.AddIndex(
            model_name="tasktransition",
            index=models.Index(fields=["to_status", "at"], name="transition_to_status_at"),
        ),
    ]
