"""The manager's figures in the API (issue 12): the indicator catalogue, indicator values and the
approved good stories, for the roles that see them on the pages (Work.FIGURES: managers and
coordinators; everyone else 404).

Indicator values are read from the rollup tables only and every cell leaves through the one display
function, by exactly the path the CSV/XLSX export takes (reporting.exports.unit_figures: the unit's
rows with the breakdown beside them, reporting.display.figures with its secondary suppression, and
display.cell per indicator and month). A cell the display function hides is hidden in JSON too:
`numerator`, `denominator` and `value` are null wherever the display function gives none, and `text`
is what a page shows ("<5", "≤ 19 %", "not shown").

Stories are the approved ones whose citizen still consents (reporting.stories.approved_stories), as
the dashboard shows them: the pseudonymised title and text, nothing about the citizen; each one shown
is logged under its citizen (stories_shown), as the pages do."""

import base64
import datetime
import uuid

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.utils.urls import remove_query_param, replace_query_param

from healthcenter import access
from healthcenter.access import Work
from healthcenter.api import ErrorSerializer, valid

from . import display, exports, forms, stories
from . import selectors as reporting_selectors
from .dashboard import target_text
from .models import Indicator, IndicatorKind, Story, UnitKind

# --- the catalogue ----------------------------------------------------------------------------------------


class IndicatorSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    target_text = serializers.SerializerMethodField()
    definition = serializers.SerializerMethodField()

    class Meta:
        model = Indicator
        fields = ["code", "name", "kind", "target", "direction", "target_text", "definition", "source"]
        read_only_fields = fields

    def get_target_text(self, indicator: Indicator) -> str:
        return target_text(indicator)

    def get_definition(self, indicator: Indicator) -> str:
        return str(exports.DEFINITIONS.get(indicator.code, indicator.name))


@extend_schema(tags=["figures"])
class IndicatorViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The quality indicators: what each counts, its target and where the definition comes from."""

    access_work = Work.FIGURES
    serializer_class = IndicatorSerializer
    queryset = Indicator.objects.all()
    lookup_field = "code"
    lookup_value_regex = "[A-Z0-9-]+"
    filterset_fields = ["kind"]
    ordering_fields = ["display_order", "code"]
    ordering = ["display_order"]


# --- the values -----------------------------------------------------------------------------------------


class ValuesQuery(serializers.Serializer):
    indicator = serializers.CharField(required=False, help_text="An indicator's code; every indicator if left out.")
    unit = serializers.ChoiceField(choices=UnitKind.choices, default=UnitKind.CENTRE)
    team = serializers.UUIDField(required=False, help_text="With unit=team: the team's public id.")
    programme = serializers.CharField(required=False, help_text="With unit=programme: the programme's code.")
    # "from" is a keyword: declared in get_fields.
    to = serializers.CharField(required=False, help_text="The last month, YYYY-MM (the last finished one if left out).")
    ordering = serializers.ChoiceField(
        choices=["month", "-month"],
        default="month",
        help_text="Each indicator's months oldest (month) or newest first.",
    )
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=200)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.CharField(
            required=False, help_text="The first month, YYYY-MM (23 months before the last if left out)."
        )
        return fields


class FigureUnitSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="centre, team or programme.")
    id = serializers.CharField(help_text="\"centre\", a team's public id or a programme's code.")
    name = serializers.CharField()


class IndicatorValueSerializer(serializers.Serializer):
    """One cell as the display function lets it leave the system."""

    indicator = serializers.CharField()
    unit = FigureUnitSerializer()
    month = serializers.CharField(help_text="YYYY-MM; the value is as of the month's last day.")
    text = serializers.CharField(help_text='As a page shows it: "62,5 %", "≤ 19 %", "<5", "not shown", "–".')
    visibility = serializers.ChoiceField(
        choices=[display.EXACT, display.BOUND, display.SMALL, display.WITHHELD, display.EMPTY],
        help_text="exact: the figure; bound: only a bound of the share (text), the numerator hidden; small: "
        "fewer than 5 counted, nothing else shown; withheld: no share shown (too few, or hidden to protect "
        "another cell); empty: nobody counted or no figure.",
    )
    value = serializers.FloatField(allow_null=True, help_text="The exact value (% or days or count) where shown.")
    numerator = serializers.IntegerField(allow_null=True, help_text="Only where the display function shows it.")
    denominator = serializers.IntegerField(allow_null=True, help_text="Only where the display function shows it.")
    target_met = serializers.BooleanField(allow_null=True)


class IndicatorValuePageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = IndicatorValueSerializer(many=True)


def _unit_key(query: dict) -> tuple[str, str]:
    """The dashboard's unit key for the question, and the field that names the unit (for its error)."""
    kind = query["unit"]
    if kind == UnitKind.TEAM:
        if query.get("team") is None:
            raise exceptions.ValidationError({"team": [_("Give the team (team=<id>) for unit=team.")]})
        return f"team:{query['team']}", "team"
    if kind == UnitKind.PROGRAMME:
        if not query.get("programme"):
            raise exceptions.ValidationError(
                {"programme": [_("Give the programme (programme=<code>) for unit=programme.")]}
            )
        return f"programme:{query['programme']}", "programme"
    return reporting_selectors.CENTRE_KEY, "unit"


def _period(query: dict, units: list) -> tuple[reporting_selectors.Unit, datetime.date, datetime.date]:
    """The unit and months, validated as the dashboard's filter validates them (the same form)."""
    key, unit_field = _unit_key(query)
    form = forms.DashboardFilterForm(
        {"unit": key, "first": query.get("from") or "", "last": query.get("to") or ""},
        units=units,
        today=timezone.localdate(),
    )
    if not form.is_valid():
        names = {"unit": unit_field, "first": "from", "last": "to"}
        raise exceptions.ValidationError(
            {names.get(field, field): [str(m) for m in messages] for field, messages in form.errors.items()}
        )
    unit = next(u for u in units if u.key == key)
    return unit, form.cleaned_data["first"], form.cleaned_data["last"]


def _unit_ref(unit: reporting_selectors.Unit) -> dict:
    return {"kind": unit.kind, "id": unit.key.split(":", 1)[-1], "name": unit.name}


def cell_json(indicator: Indicator, shown: display.Figure) -> dict:
    """One Figure as JSON: only what the display function lets out. A count of stories has no
    numerator and denominator of its own (both hold the count), as in the export."""
    counted = indicator.kind != IndicatorKind.COUNT
    return {
        "text": shown.text,
        "visibility": shown.visibility,
        "value": shown.value,
        "numerator": shown.numerator if counted else None,
        "denominator": shown.denominator if counted else None,
        "target_met": shown.met if shown.visibility != display.EMPTY else None,
    }


class ListCursor:
    """Cursor pages over a computed list (the cells of a period are computed, not a queryset): the
    cursor is an opaque position in the list, which is the same for the same question until the next
    rollup run."""

    page_size = 50
    max_page_size = 200

    def page(self, request, items: list, *, page_size: int | None) -> dict:
        size = min(page_size or self.page_size, self.max_page_size)
        start = self._position(request.query_params.get("cursor"))
        url = request.build_absolute_uri()
        end = start + size
        return {
            "next": replace_query_param(url, "cursor", self._encode(end)) if end < len(items) else None,
            "previous": (
                None
                if start == 0
                else (
                    remove_query_param(url, "cursor")
                    if start - size <= 0
                    else replace_query_param(url, "cursor", self._encode(start - size))
                )
            ),
            "results": items[start:end],
        }

    @staticmethod
    def _encode(position: int) -> str:
        return base64.urlsafe_b64encode(f"p={position}".encode()).decode()

    @staticmethod
    def _position(cursor: str | None) -> int:
        if not cursor:
            return 0
        try:
            text = base64.urlsafe_b64decode(cursor.encode()).decode()
            position = int(text.removeprefix("p=")) if text.startswith("p=") else -1
        except (ValueError, UnicodeDecodeError):
            position = -1
        if position < 0:
            raise exceptions.NotFound(_("Invalid cursor"))
        return position


@extend_schema(tags=["figures"])
class IndicatorValueViewSet(viewsets.GenericViewSet):
    """Indicator values of one unit (the centre, a team or a programme) over a period of months, one
    cell per indicator and month, oldest month first, each as the display function shows it."""

    access_work = Work.FIGURES
    serializer_class = IndicatorValueSerializer
    pagination_class = None
    filter_backends = []

    @extend_schema(
        parameters=[ValuesQuery],
        responses={200: IndicatorValuePageSerializer, 400: ErrorSerializer},
    )
    def list(self, request, *args, **kwargs):
        query = valid(ValuesQuery(data=request.query_params)).validated_data
        asked = {**query, "from": request.query_params.get("from")}
        wanted = asked.get("indicator")
        if wanted and not any(i.code == wanted for i in reporting_selectors.indicators()):
            raise exceptions.ValidationError({"indicator": [_("There is no indicator with this code.")]})
        unit, first_month, last_month = _period(asked, reporting_selectors.units())
        data = exports.unit_figures(unit=unit, first_month=first_month, last_month=last_month)
        ref = _unit_ref(unit)
        cells = [
            {
                "indicator": indicator.code,
                "unit": ref,
                "month": f"{month:%Y-%m}",
                **cell_json(indicator, data.figure(indicator, month)),
            }
            for indicator in data.indicators
            if not wanted or indicator.code == wanted
            for month in (reversed(data.months) if asked["ordering"] == "-month" else data.months)
        ]
        return Response(ListCursor().page(request, cells, page_size=asked.get("page_size")))


# --- approved stories -------------------------------------------------------------------------------------


class StorySerializer(serializers.ModelSerializer):
    """An approved story as managers read it: its pseudonymised title and text, nothing else."""

    id = serializers.UUIDField(source="public_id", read_only=True)
    text = serializers.CharField(source="published_text", read_only=True)

    class Meta:
        model = Story
        fields = ["id", "title", "text"]
        read_only_fields = fields


@extend_schema(tags=["figures"])
class StoryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Approved good stories whose citizen still consents, newest approval first."""

    access_work = Work.FIGURES
    serializer_class = StorySerializer
    lookup_field = "public_id"
    lookup_value_converter = "uuid"
    ordering_fields = ["decided_at"]
    ordering = ["-decided_at"]

    def get_queryset(self):
        return stories.approved_stories()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        stories.stories_shown(actor=request.user, shown=page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(responses={200: StorySerializer})
    def retrieve(self, request, public_id: uuid.UUID | None = None, **kwargs):
        story = self.get_queryset().filter(public_id=public_id).first()
        if story is None:
            access.deny(request.user, what=gettext_noop("API: good story"))
        stories.stories_shown(actor=request.user, shown=[story])
        return Response(self.get_serializer(story).data)


router = SimpleRouter()
router.register("indicators", IndicatorViewSet, basename="indicator")
router.register("indicator-values", IndicatorValueViewSet, basename="indicator-value")
router.register("stories", StoryViewSet, basename="story")

app_name = "api-reporting"
urlpatterns = router.urls
