"""Change history of a citizen's records, read from the event tables that pghistory's database
triggers fill (so bulk updates and changes outside the app are there too)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from pghistory.models import Events

from healthcenter.formatting import number
from healthcenter.models import User

from . import cpr as cpr_rules
from .models import Encounter, Measurement, MeasurementType, Patient

# Keys, generated and bookkeeping columns say nothing to a reader.
HIDDEN_FIELDS = {"id", "public_id", "version", "updated_at", "created_at", "search_name", "patient", "position"}
LABELS = {"insert": _("created"), "update": _("changed"), "delete": _("deleted")}


@dataclass
class Change:
    at: datetime
    who: str
    record: str
    label: str
    fields: list[tuple[str, object, object]]  # (field label, before, after) in words a reader knows


def _field(model: type[models.Model], name: str) -> models.Field | None:
    try:
        return model._meta.get_field(name.removesuffix("_id"))
    except FieldDoesNotExist:  # a field that no longer exists keeps its raw name
        return None


def patient_history(patient: Patient, *, limit: int = 300) -> list[Change]:
    """The newest changes first, with the acting user, choice labels and related records' names,
    in a fixed number of queries."""
    events = list(Events.objects.references(patient).order_by("-pgh_created_at")[:limit])
    events += list(
        Events.objects.references(Encounter.objects.filter(patient=patient))
        .filter(pgh_model__in=["patients.AgreedActionEvent", "patients.AmendmentEvent"])
        .order_by("-pgh_created_at")[:limit]
    )
    events.sort(key=lambda e: e.pgh_created_at, reverse=True)
    events = events[:limit]

    # Names of everything the events point at, one query per related model.
    wanted: dict[type[models.Model], set] = defaultdict(set)
    for event in events:
        model = apps.get_model(event.pgh_obj_model)
        context = event.pgh_context or {}
        if context.get("user"):
            wanted[User].add(int(context["user"]))
        for name, value in _values(event):
            field = _field(model, name)
            if field is not None and field.is_relation:
                for pk in value if event.pgh_diff else [value]:
                    if pk not in (None, ""):
                        wanted[field.related_model].add(pk)
    # Units of measured values, in the same query as the measurement types' names.
    wanted[MeasurementType] |= {
        (event.pgh_data or {}).get("type_id") for event in events if event.pgh_obj_model == "patients.Measurement"
    } - {None}
    objects = {related: {obj.pk: obj for obj in _named(related).filter(pk__in=ids)} for related, ids in wanted.items()}
    names = {related: {pk: str(obj) for pk, obj in found.items()} for related, found in objects.items()}
    units = {pk: mt.unit for pk, mt in objects.get(MeasurementType, {}).items()}

    def readable(model, name, value, event):  # noqa: PLR0911 - one plain case per kind of field
        field = _field(model, name)
        if value in (None, "") or field is None:
            return value
        if field.is_relation:
            return names.get(field.related_model, {}).get(value, value)
        if field.choices:
            return dict(field.flatchoices).get(value, value)
        if name == "cpr":
            return cpr_rules.formatted(str(value))
        if isinstance(field, models.DecimalField):
            shown = number(Decimal(str(value)))
            unit = units.get((event.pgh_data or {}).get("type_id")) if model is Measurement else ""
            return f"{shown} {unit}".strip()
        if isinstance(field, models.DateTimeField):
            moment = parse_datetime(str(value))
            return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT") if moment else value
        if isinstance(field, models.DateField):
            day = parse_date(str(value))
            return formats.date_format(day, "SHORT_DATE_FORMAT") if day else value
        if isinstance(field, models.BooleanField):
            return _("yes") if value else _("no")
        return value

    changes = []
    for event in events:
        model = apps.get_model(event.pgh_obj_model)
        context = event.pgh_context or {}
        who = (
            names[User].get(int(context["user"]), "?") if context.get("user") else _author(event, names) or _("system")
        )
        fields = []
        for name, value in _values(event):
            field = _field(model, name)
            label = str(field.verbose_name) if field is not None else name
            if event.pgh_diff:
                before, after = value
                fields.append((label, readable(model, name, before, event), readable(model, name, after, event)))
            else:
                fields.append((label, None, readable(model, name, value, event)))
        if event.pgh_label == "update" and not fields:
            continue
        label = LABELS.get(event.pgh_label, event.pgh_label)
        if model is Measurement and event.pgh_label == "insert" and (event.pgh_data or {}).get("corrects_id"):
            label = _("corrected")
        changes.append(
            Change(
                at=event.pgh_created_at,
                who=who,
                record=str(model._meta.verbose_name),
                label=str(label),
                fields=fields,
            )
        )
    return changes


def _values(event):
    """(field, value) pairs worth showing: the diff of an update, or the filled fields of a new row."""
    if event.pgh_diff:
        items = event.pgh_diff.items()
    else:
        items = ((k, v) for k, v in (event.pgh_data or {}).items() if v not in (None, ""))
    return [
        (name, value)
        for name, value in items
        if name not in HIDDEN_FIELDS and name.removesuffix("_id") not in HIDDEN_FIELDS
    ]


# Who made a new record, when the change came from outside a web request (a command, a job):
# the person the record itself names as its author.
AUTHOR_FIELDS = ("recorded_by_id", "author_id", "created_by_id", "professional_id")


def _author(event, names) -> str | None:
    if event.pgh_label != "insert":
        return None
    data = event.pgh_data or {}
    author = next((data[field] for field in AUTHOR_FIELDS if data.get(field)), None)
    return names.get(User, {}).get(author) if author else None


def _named(model: type[models.Model]) -> models.QuerySet:
    """The rows whose names the history shows; a measurement's name needs its type."""
    if model is Measurement:
        return Measurement.objects.select_related("type")
    return model.objects.all()
