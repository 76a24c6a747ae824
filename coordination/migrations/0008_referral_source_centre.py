from django.db import migrations, models


class Migration(migrations.Migration):
    """A registration of a citizen another team follows becomes a referral to that team (issue 10)."""

    dependencies = [
        ("coordination", "0007_action_plans"),
    ]

    operations = [
        migrations.AlterField(
            model_name="referral",
            name="source",
            field=models.CharField(
                choices=[
                    ("gp", "General practitioner"),
                    ("hospital", "Hospital"),
                    ("self", "The citizen"),
                    ("relative", "A relative"),
                    ("centre", "Another team in the centre"),
                ],
                max_length=10,
                verbose_name="from",
            ),
        ),
    ]
