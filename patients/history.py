"""Change history of a citizen's records, read from the event tables that pghistory's database
triggers fill (so bulk updates and changes outside the app are there too)."""

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.utils.translation import gettext_lazy as _
from pghistory.models import Events

from healthcenter.models import User

from .models import Encounter, Patient

HIDDEN_FIELDS = {"id", "version", "updated_at", "created_at", "search_name", "patient", "patient_id"}
LABELS = {"insert": _("created"), "update": _("changed"), "delete": _("deleted")}


@dataclass
class Change:
    at: datetime
    who: str
    record: str
    label: str
    fields: list[tuple[str, object, object]]  # (field label, before, after)


def _field_label(model_label: str, field: str) -> str:
    model = apps.get_model(model_label)
    name = field.removesuffix("_id")
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:  # a field that no longer exists keeps its raw name
        return field


def patient_history(patient: Patient, *, limit: int = 300) -> list[Change]:
    events = list(Events.objects.references(patient).order_by("-pgh_created_at")[:limit]) + list(
        Events.objects.references(Encounter.objects.filter(patient=patient))
        .filter(pgh_model__in=["patients.AgreedActionEvent", "patients.AmendmentEvent"])
        .order_by("-pgh_created_at")[:limit]
    )
    events.sort(key=lambda e: e.pgh_created_at, reverse=True)
    events = events[:limit]
    user_ids = {int(e.pgh_context["user"]) for e in events if e.pgh_context and e.pgh_context.get("user")}
    names = {u.id: str(u) for u in User.objects.filter(id__in=user_ids)}
    changes = []
    for event in events:
        model_label = event.pgh_obj_model
        model = apps.get_model(model_label)
        context = event.pgh_context or {}
        who = names.get(int(context["user"]), "?") if context.get("user") else _("system")
        if event.pgh_diff:
            fields = [
                (_field_label(model_label, name), before, after)
                for name, (before, after) in event.pgh_diff.items()
                if name not in HIDDEN_FIELDS
            ]
        else:
            fields = [
                (_field_label(model_label, name), None, value)
                for name, value in (event.pgh_data or {}).items()
                if name not in HIDDEN_FIELDS and name != "public_id" and value not in (None, "")
            ]
        if event.pgh_label == "update" and not fields:
            continue
        changes.append(
            Change(
                at=event.pgh_created_at,
                who=who,
                record=str(model._meta.verbose_name),
                label=str(LABELS.get(event.pgh_label, event.pgh_label)),
                fields=fields,
            )
        )
    return changes
