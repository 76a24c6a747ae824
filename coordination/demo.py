"""Demo coordination data on top of the patients demo: open, overdue and finished tasks (with
their transitions and comments), referrals waiting for triage and triaged ones, and handover
notes, so that every board and list has something true to show."""

import datetime
import random

from django.utils import timezone

from healthcenter.models import Role, Team, User
from patients.models import AgreedAction, Patient, PatientStatus, Programme

from .models import (
    HandoverNote,
    Notification,
    NotificationKind,
    Referral,
    ReferralSource,
    ReferralStatus,
    Task,
    TaskComment,
    TaskOrigin,
    TaskPriority,
    TaskStatus,
    TaskTransition,
)

HANDOVERS = [
    "Datteren ringede; hun er bekymret for aftenerne, hvor far bliver urolig.",
    "Borger har aflyst næste samtale pga. indlæggelse. Ny tid aftales ved udskrivelse.",
    "Ægtefælle fortæller, at medicinæsken ikke er tømt de sidste dage.",
    "Egen læge har øget metformin; ny HbA1c om 3 måneder.",
    "Borger ønsker at tale med diætist om julemaden.",
    "Hjemmeplejen har set hævelse på venstre fod; bedt om fodundersøgelse.",
]
REFERRAL_REASONS = [
    ("Nydiagnosticeret type 2-diabetes, HbA1c 64. Ønsker diabetesskole.", "diabetes-course"),
    ("Stigende HbA1c trods medicin. Henvises til opfølgning og kostvejledning.", "diabetes-follow-up"),
    ("Hukommelsesbesvær gennem et år; demensudredt på hukommelsesklinik, Alzheimer.", "dementia-follow-up"),
    ("Ægtefælle udmattet; ønsker støtte som pårørende.", "caregiver-support"),
]
COMMENTS = [
    "Har ringet, ingen svarede. Prøver igen i morgen.",
    "Aftalt tid torsdag kl. 10.",
    "Talt med datteren; hun deltager også.",
    "Tager den, jeg kender borgeren.",
]


def seed_coordination(*, rng: random.Random | None = None) -> None:
    rng = rng or random.Random(2027)
    today = timezone.localdate()
    now = timezone.now()
    for team in Team.objects.order_by("name"):
        staff = list(team.members.filter(role=Role.PROFESSIONAL).order_by("username"))
        coordinator = team.members.filter(role=Role.COORDINATOR).order_by("username").first() or staff[0]
        patients = list(Patient.objects.filter(team=team, status=PatientStatus.ACTIVE).order_by("id"))
        actions = list(
            AgreedAction.objects.filter(encounter__patient__team=team, encounter__signed_at__isnull=False)
            .select_related("encounter", "encounter__patient", "encounter__professional")
            .order_by("-encounter__started_at")[:60]
        )
        for index, action in enumerate(actions):
            encounter = action.encounter
            if encounter.patient.status != PatientStatus.ACTIVE:
                continue
            assignee = rng.choice(staff)
            created = encounter.started_at
            due = timezone.localdate(created) + datetime.timedelta(days=rng.choice([7, 14, 21, 28]))
            done = index >= 25 and rng.random() < 0.85
            task = Task.objects.create(
                title=action.text,
                team=team,
                patient=encounter.patient,
                assignee=assignee,
                due_on=due,
                priority=rng.choice([TaskPriority.NORMAL] * 4 + [TaskPriority.HIGH]),
                status=TaskStatus.DONE
                if done
                else rng.choice([TaskStatus.OPEN, TaskStatus.OPEN, TaskStatus.IN_PROGRESS]),
                origin=TaskOrigin.AGREED_ACTION,
                agreed_action=action,
                created_by=encounter.professional,
                completed_at=min(now, created + datetime.timedelta(days=rng.randint(2, 30))) if done else None,
            )
            Task.objects.filter(pk=task.pk).update(created_at=created)
            TaskTransition.objects.create(task=task, by=encounter.professional, to_status="open", to_assignee=assignee)
            if task.status != TaskStatus.OPEN:
                TaskTransition.objects.create(
                    task=task,
                    by=assignee,
                    from_status="open",
                    to_status=task.status,
                    from_assignee=assignee,
                    to_assignee=assignee,
                )
            if rng.random() < 0.3:
                TaskComment.objects.create(task=task, author=assignee, text=rng.choice(COMMENTS))
            if not done and rng.random() < 0.4:
                Notification.objects.create(
                    user=assignee, actor=encounter.professional, kind=NotificationKind.ASSIGNED, task=task
                )
        # Tasks by hand without a citizen, and a few unassigned ones for the coordinator to hand out.
        for title, days, assignee in [
            ("Opdatér pjecer til venteværelset", 10, rng.choice(staff)),
            ("Planlæg næste hold i diabetesskolen", 21, None),
            ("Gennemgå ventelisten", -3, None),
        ]:
            Task.objects.create(
                title=title,
                team=team,
                assignee=assignee,
                due_on=today + datetime.timedelta(days=days),
                created_by=coordinator,
                origin=TaskOrigin.MANUAL,
            )
        for patient in rng.sample(patients, min(len(patients), 8)):
            note = HandoverNote.objects.create(patient=patient, author=rng.choice(staff), text=rng.choice(HANDOVERS))
            HandoverNote.objects.filter(pk=note.pk).update(
                created_at=now - datetime.timedelta(hours=rng.randint(1, 96))
            )
            if patient.responsible_professional_id and patient.responsible_professional_id != note.author_id:
                Notification.objects.create(
                    user_id=patient.responsible_professional_id,
                    actor=note.author,
                    kind=NotificationKind.HANDOVER,
                    handover=note,
                )
        for index, patient in enumerate(rng.sample(patients, min(len(patients), 6))):
            reason, code = REFERRAL_REASONS[index % len(REFERRAL_REASONS)]
            if patient.enrolments.filter(programme__code=code, end_on__isnull=True).exists():
                continue  # a referral to a programme the citizen is already in could not be accepted
            Referral.objects.create(
                patient=patient,
                team=team,
                source=rng.choice(list(ReferralSource)),
                reason=reason,
                received_on=today - datetime.timedelta(days=rng.randint(0, 12)),
                programme=Programme.objects.get(code=code),
                status=ReferralStatus.RECEIVED,
                created_by=coordinator,
            )
    _accepted_referrals(rng)


def _accepted_referrals(rng: random.Random) -> None:
    """Referrals behind the demo's enrolments, so waiting times exist for the reports."""
    from patients.models import Enrolment

    rows = []
    for enrolment in Enrolment.objects.select_related("patient", "programme").order_by("id")[:300]:
        if Referral.objects.filter(enrolment=enrolment).exists():
            continue
        rows.append(
            Referral(
                patient=enrolment.patient,
                team=enrolment.patient.team,
                source=rng.choice([ReferralSource.GP, ReferralSource.GP, ReferralSource.HOSPITAL]),
                reason="Henvist til " + enrolment.programme.name_da.lower() + ".",
                received_on=enrolment.referral_received_on,
                status=ReferralStatus.ACCEPTED,
                programme=enrolment.programme,
                enrolment=enrolment,
                created_by=User.objects.filter(role=Role.COORDINATOR).order_by("id").first(),
            )
        )
    Referral.objects.bulk_create(rows)
