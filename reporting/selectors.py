"""Aggregates for managers. Nothing here returns a citizen: only counts, with small cells
suppressed before they leave this module."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from healthcenter.models import Profession, Team
from patients.models import Condition, ConditionGroup, Encounter, Patient, PatientStatus, conditions_in_group

from .models import SMALL_CELL


@dataclass(frozen=True)
class Cell:
    count: int

    @property
    def suppressed(self) -> bool:
        return 0 < self.count < SMALL_CELL

    def __str__(self) -> str:
        return "<5" if self.suppressed else str(self.count)


@dataclass(frozen=True)
class TeamRow:
    team: str
    active_citizens: Cell
    by_group: list[Cell]  # in ConditionGroup order
    encounters_30_days: Cell


def centre_overview() -> list[TeamRow]:
    """Per team: active citizens, of them with each condition group, and encounters in the last
    30 days. Three queries whatever the amount of data."""
    groups = {
        group.value: Count(
            "id", filter=Exists(Condition.objects.filter(patient=OuterRef("pk"), kind__in=conditions_in_group(group)))
        )
        for group in ConditionGroup
    }
    citizens = {
        row["team_id"]: row
        for row in Patient.objects.filter(status=PatientStatus.ACTIVE)
        .values("team_id")
        .annotate(active=Count("id"), **groups)
        .order_by()
    }
    since = timezone.now() - datetime.timedelta(days=30)
    encounters = dict(
        Encounter.objects.filter(started_at__gte=since)
        .values("patient__team_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("patient__team_id", "n")
    )
    rows = []
    for team in Team.objects.order_by("name"):
        counts = citizens.get(team.id, {})
        rows.append(
            TeamRow(
                team=team.name,
                active_citizens=Cell(counts.get("active", 0)),
                by_group=[Cell(counts.get(group.value, 0)) for group in ConditionGroup],
                encounters_30_days=Cell(encounters.get(team.id, 0)),
            )
        )
    return rows


@dataclass(frozen=True)
class ProfessionalActivity:
    name: str
    profession: str
    encounters: int


def encounters_per_professional(*, days: int = 30) -> list[ProfessionalActivity]:
    """Encounters per professional in the last `days` days: one query, counts only."""
    since = timezone.now() - datetime.timedelta(days=days)
    rows = (
        Encounter.objects.filter(started_at__gte=since, started_at__lte=timezone.now())
        .values("professional__first_name", "professional__last_name", "professional__profession")
        .annotate(n=Count("id"))
        .order_by("-n", "professional__last_name")
    )
    labels = dict(Profession.choices)
    return [
        ProfessionalActivity(
            name=f"{r['professional__first_name']} {r['professional__last_name']}",
            profession=str(labels.get(r["professional__profession"], "")),
            encounters=r["n"],
        )
        for r in rows
    ]
