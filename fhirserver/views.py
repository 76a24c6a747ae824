"""FHIR R4 (read) over the same selectors, access decisions and access log as the pages (issue 12).

Every view is a DRF view with the API's authentication (token or session), throttle and role check
(healthcenter.api.WorkPermission with the view's `access_work`). A citizen's resources are reached
through their `*_for` selector, which decides the care relation and writes the access-log row under
the citizen: outside it the resource does not exist (404). A search names its citizen
(`patient=`) and is logged once under them; a Patient search by CPR number is logged under the
citizen that number belongs to, allowed or denied, like the citizens list's search. Errors are
OperationOutcomes with the HTTP status of the API's errors (400, 401, 404, 405, 429)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rest_framework import exceptions, negotiation, parsers, renderers
from rest_framework.response import Response
from rest_framework.views import APIView

from coordination import selectors as coordination_selectors
from healthcenter import access
from healthcenter.access import Work
from healthcenter.api import WorkPermission
from healthcenter.api import exception_handler as api_exception_handler
from healthcenter.models import AccessAction
from healthcenter.selectors import access_log_for_patient
from patients import cpr as cpr_rules
from patients import selectors as patient_selectors
from patients.definitions import counted_measurements
from patients.models import MeasurementType, Patient
from scheduling import selectors as scheduling_selectors

from . import builders as r
from .search import BadSearch, Parsed, date_filter, parse, reference_id, tokens

FHIR_VERSION = "4.0.1"


# --- the plumbing every FHIR view shares -------------------------------------------------------------------


class FhirRenderer(renderers.JSONRenderer):
    media_type = "application/fhir+json"
    format = "json"
    charset = "utf-8"


class FhirNegotiation(negotiation.DefaultContentNegotiation):
    """JSON only, whatever the Accept header asks (application/json, application/fhir+json, */*), in
    the language the client asks for as the rest of the API answers (a language cookie, then
    Accept-Language, then Danish), decided before authentication so that a 401 is in it too."""

    def select_renderer(self, request, renderers, format_suffix=None):
        translation.activate(translation.get_language_from_request(request._request))
        request._request.LANGUAGE_CODE = translation.get_language()
        return renderers[0], renderers[0].media_type


ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    415: "not-supported",
    429: "throttled",
}


def operation_outcome(message: str, *, code: str, severity: str = "error") -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }


def fhir_exception_handler(exc, context):
    """The API's own handler decides the status (a refusal 404, a service's error 400...); the body
    becomes an OperationOutcome."""
    response = api_exception_handler(exc, context)
    if response is None:
        return None
    body = response.data or {}
    message = body.get("message", "") if isinstance(body, dict) else str(body)
    fields = body.get("fields") if isinstance(body, dict) else None
    if fields:
        message = " ".join([message, *(f"{k}: {' '.join(v)}" for k, v in fields.items())]).strip()
    code = getattr(exc, "issue_code", None) or ISSUE_CODES.get(response.status_code, "processing")
    response.data = operation_outcome(message, code=code)
    return response


class FhirView(APIView):
    access_work = Work.CITIZENS
    permission_classes = [WorkPermission]
    renderer_classes = [FhirRenderer]
    parser_classes: list = []
    content_negotiation_class = FhirNegotiation
    http_method_names = ["get", "head"]
    schema = None  # FHIR is described by its CapabilityStatement, not by the OpenAPI schema

    def get_exception_handler(self):
        return fhir_exception_handler

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise exceptions.MethodNotAllowed(request.method, detail=_("This FHIR server only reads."))

    def ctx(self) -> r.Context:
        if not hasattr(self, "_ctx"):
            self._ctx = r.Context(self.request.build_absolute_uri("/fhir/"))
        return self._ctx


def _public_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise exceptions.NotFound(_("Not found.")) from None


def bundle(request, ctx: r.Context, entries: list[dict], *, total: int, parsed: Parsed | None = None) -> dict:
    """A searchset Bundle: `total` matches, the entries of this page, and links to this page and the
    next and previous ones (by `_offset`)."""
    links = [{"relation": "self", "url": request.build_absolute_uri()}]
    if parsed is not None:
        count, offset = parsed.paging.count, parsed.paging.offset

        def page(at: int) -> str:
            query = request.query_params.copy()
            query["_count"] = str(count)
            query["_offset"] = str(at)
            return request.build_absolute_uri(request.path) + "?" + query.urlencode()

        if count and offset + count < total:
            links.append({"relation": "next", "url": page(offset + count)})
        if offset > 0 and count:
            links.append({"relation": "previous", "url": page(max(offset - count, 0))})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": r.instant(timezone.now()),
        "total": total,
        "link": links,
        **({"entry": entries} if entries else {}),
    }


def entry(ctx: r.Context, resource: dict, mode: str = "match") -> dict:
    found = {"resource": resource, "search": {"mode": mode}}
    if resource.get("id") and resource["resourceType"] != "AuditEvent":
        found = {"fullUrl": ctx.url(resource["resourceType"], resource["id"]), **found}
    return found


# --- the kinds of a citizen's resources ---------------------------------------------------------------------


def _read_observation(user, public_id, *, what):
    measurement = patient_selectors.measurement_for(user, public_id, what=what)
    if not counted_measurements().filter(pk=measurement.pk).exists():
        raise Http404  # a draft encounter's value, or one since corrected: not part of the record
    return measurement


def _read_encounter(user, public_id, *, what):
    encounter = patient_selectors.encounter_for(user, public_id, what=what)
    if not encounter.is_signed:
        raise Http404  # a draft is not yet part of the record
    return encounter


def _read_task(user, public_id, *, what):
    task = coordination_selectors.task_for(user, public_id, what=what)
    if task.patient_id is None:
        raise Http404  # a team's own task concerns no citizen: not a FHIR Task about anyone
    return task


def _read_appointment(user, public_id, *, what):
    return scheduling_selectors.appointment_for(user, public_id, what=what)


def _code_filter(values: list[str], match: Callable) -> Q:
    combined = Q()
    for value in values:
        either = Q(pk__in=[])
        for system, code in tokens(value):
            either |= match(system, code)
        combined &= either
    return combined


def _observation_code(system, code):
    if system in r.NPU_SYSTEMS or (system is None and code.upper().startswith("NPU")):
        return Q(type__in=MeasurementType.objects.filter(lab_codes__system="NPU", lab_codes__code=code.upper()))
    names = [name for name, uri in r.SYSTEMS.items() if uri == system] if system else list(r.SYSTEMS)
    if system == "":
        return Q(type__code=code)
    return Q(type__coding_system__in=names, type__coding_code=code)


def _condition_code(system, code):
    if system not in (None, "", r.ICD10):
        return Q(pk__in=[])
    return Q(icd10__iexact=code) | Q(icd10__istartswith=code + ".")


def _status(mapping: dict, field: str) -> Callable:
    def match(system, code):
        return Q(**{f"{field}__in": [k for k, v in mapping.items() if v == code]})

    return match


@dataclass(frozen=True)
class Kind:
    name: str
    queryset: Callable  # (patient) -> QuerySet of the citizen's resources of this kind
    build: Callable  # (obj, ctx, patient_public_id) -> dict
    read: Callable  # (user, public_id, *, what) -> obj, logged under the citizen, 404 outside the care relation
    what: str  # the access log's text for a read (a msgid)
    search_what: str  # and for a search
    patient_params: tuple[str, ...] = ("patient", "subject")
    date_field: str | None = None
    date_is_date: bool = False
    code: Callable | None = None  # (system, code) -> Q
    status: Callable | None = None  # (system, code) -> Q
    status_param: str = "status"


KINDS = {
    kind.name: kind
    for kind in [
        Kind(
            "Encounter",
            r.encounters,
            r.encounter,
            _read_encounter,
            gettext_noop("FHIR: Encounter"),
            gettext_noop("FHIR: Encounter search"),
            date_field="started_at",
        ),
        Kind(
            "Observation",
            r.observations,
            r.observation,
            _read_observation,
            gettext_noop("FHIR: Observation"),
            gettext_noop("FHIR: Observation search"),
            date_field="measured_at",
            code=_observation_code,
        ),
        Kind(
            "Condition",
            r.conditions,
            r.condition,
            lambda user, public_id, *, what: patient_selectors.condition_for(user, public_id, what=what),
            gettext_noop("FHIR: Condition"),
            gettext_noop("FHIR: Condition search"),
            date_field="diagnosed_on",
            date_is_date=True,
            code=_condition_code,
        ),
        Kind(
            "Goal",
            r.goals,
            r.goal,
            lambda user, public_id, *, what: patient_selectors.goal_for(user, public_id, what=what),
            gettext_noop("FHIR: Goal"),
            gettext_noop("FHIR: Goal search"),
            status=_status(r.GOAL_STATUS, "status"),
            status_param="lifecycle-status",
        ),
        Kind(
            "CarePlan",
            r.careplans,
            r.careplan,
            lambda user, public_id, *, what: patient_selectors.enrolment_for(user, public_id, what=what),
            gettext_noop("FHIR: CarePlan"),
            gettext_noop("FHIR: CarePlan search"),
            date_field="start_on",
            date_is_date=True,
        ),
        Kind(
            "Task",
            r.tasks,
            r.task,
            _read_task,
            gettext_noop("FHIR: Task"),
            gettext_noop("FHIR: Task search"),
            patient_params=("patient", "for"),
            status=_status(r.TASK_STATUS, "status"),
        ),
        Kind(
            "Consent",
            r.consents,
            r.consent,
            lambda user, public_id, *, what: patient_selectors.consent_for(user, public_id, what=what),
            gettext_noop("FHIR: Consent"),
            gettext_noop("FHIR: Consent search"),
            patient_params=("patient",),
            date_field="given_on",
            date_is_date=True,
        ),
        Kind(
            "RelatedPerson",
            r.related_people,
            r.related_person,
            lambda user, public_id, *, what: patient_selectors.relative_for(user, public_id, what=what),
            gettext_noop("FHIR: RelatedPerson"),
            gettext_noop("FHIR: RelatedPerson search"),
            patient_params=("patient",),
        ),
        Kind(
            "Appointment",
            r.appointments,
            r.appointment,
            _read_appointment,
            gettext_noop("FHIR: Appointment"),
            gettext_noop("FHIR: Appointment search"),
            patient_params=("patient", "actor"),
            date_field="starts_at",
            status=_status(r.APPOINTMENT_STATUS, "status"),
        ),
    ]
}


def search_params(kind: Kind) -> list[tuple[str, str]]:
    """What a kind's search takes, for the CapabilityStatement and the parameter check."""
    params = [(name, "reference") for name in kind.patient_params]
    if kind.date_field:
        params.append(("date", "date"))
    if kind.code:
        params.append(("code", "token"))
    if kind.status:
        params.append((kind.status_param, "token"))
    return params


def _patient_of(parsed: Parsed, names: tuple[str, ...]) -> uuid.UUID:
    given = [(name, parsed.one(name)) for name in names if parsed.values.get(name)]
    if len(given) != 1:
        raise BadSearch(
            _("Name the citizen: %(params)s=Patient/<id> (once).") % {"params": " or ".join(names)}, code="required"
        )
    return reference_id(given[0][1])


class ResourceRead(FhirView):
    """GET /fhir/<type>/<id> for a citizen's record (not the Patient itself)."""

    kind: Kind

    def get(self, request, public_id: str):
        obj = self.kind.read(request.user, _public_id(public_id), what=self.kind.what)
        resource = self.kind.build(obj, self.ctx(), obj.patient.public_id)
        return Response(resource)


class ResourceSearch(FhirView):
    """GET /fhir/<type>?patient=Patient/<id>[&date=..][&code=..][&status=..][&_count=..&_offset=..]:
    one citizen's resources of a kind, logged once under the citizen."""

    kind: Kind

    def get(self, request):
        kind = self.kind
        parsed = parse(request.query_params, {name for name, _type in search_params(kind)})
        public_id = _patient_of(parsed, kind.patient_params)
        filters = []
        if "date" in parsed.values:
            filters.append(date_filter(parsed.values["date"], kind.date_field, is_date=kind.date_is_date))
        if "code" in parsed.values:
            filters.append(_code_filter(parsed.values["code"], kind.code))
        if kind.status and kind.status_param in parsed.values:
            filters.append(_code_filter(parsed.values[kind.status_param], kind.status))
        patient = patient_selectors.patient_for(request.user, public_id, what=kind.search_what)
        queryset = kind.queryset(patient).filter(*filters)
        page = page_of(request, self.ctx(), queryset, parsed=parsed, build=kind.build, patient_id=patient.public_id)
        return Response(page)


def page_of(request, ctx, queryset, *, parsed: Parsed, build: Callable, patient_id) -> dict:
    total = queryset.count()
    count, offset = parsed.paging.count, parsed.paging.offset
    rows = list(queryset[offset : offset + count]) if count else []
    return bundle(request, ctx, [entry(ctx, build(obj, ctx, patient_id)) for obj in rows], total=total, parsed=parsed)


# --- Patient -------------------------------------------------------------------------------------------------


def _cpr_number(identifier: str) -> str | None:
    """The ten digits of a token `[urn:oid:1.2.208.176.1.2|]<CPR number>`, or None for another system or
    a value that is no CPR number."""
    system, value = identifier.split("|", 1) if "|" in identifier else (None, identifier)
    number = cpr_rules.normalise(value)
    if system not in (None, r.CPR_SYSTEM) or not (len(number) == 10 and number.isdigit()):
        return None
    return number


def _patient_resource(p: Patient, ctx: r.Context, _patient_id=None) -> dict:
    return r.patient(p, ctx)


class PatientRead(FhirView):
    def get(self, request, public_id: str):
        p = patient_selectors.patient_for(request.user, _public_id(public_id), what=gettext_noop("FHIR: Patient"))
        return Response(r.patient(p, self.ctx()), headers={"ETag": f'W/"{p.version}"'})


class PatientSearch(FhirView):
    """GET /fhir/Patient?identifier=urn:oid:1.2.208.176.1.2|<cpr>: the one citizen with the number,
    within the care relation (logged under them, allowed or denied, as the citizens list's search by a
    whole CPR number is); without parameters, the user's citizens (one row with the criterion)."""

    def get(self, request):
        return self.search(request, request.query_params)

    def search(self, request, params):
        parsed = parse(params, {"identifier", "_id"})
        ctx = self.ctx()
        patients = patient_selectors.patients_visible_to(request.user).select_related("team")
        identifier = parsed.one("identifier")
        if identifier is not None:
            number = _cpr_number(identifier)
            if number is None:
                access.listed(request.user, gettext_noop("FHIR: Patient search by an identifier no citizen has"))
                return Response(bundle(request, ctx, [], total=0, parsed=parsed))
            found = Patient.objects.filter(cpr=number).only("public_id", "team_id").first()
            if found is None:
                access.listed(request.user, gettext_noop("FHIR: Patient search by a CPR number no citizen has"))
                return Response(bundle(request, ctx, [], total=0, parsed=parsed))
            allowed = access.check(
                request.user,
                found,
                what=gettext_noop("FHIR: Patient search by CPR number"),
                action=AccessAction.SEARCH,
            )
            patients = patients.filter(pk=found.pk) if allowed else patients.none()
        elif "_id" in parsed.values:
            p = patient_selectors.patient_for(
                request.user, _public_id(parsed.one("_id")), what=gettext_noop("FHIR: Patient")
            )
            patients = patients.filter(pk=p.pk)
        else:
            access.listed(request.user, gettext_noop("FHIR: Patient search (the user's citizens)"))
        patients = patients.order_by("last_name", "first_name", "id")
        return Response(page_of(request, ctx, patients, parsed=parsed, build=_patient_resource, patient_id=None))


class SearchIsARead(WorkPermission):
    """A search sent as a POST (FHIR's `_search`) reads: a read-only token may send it."""

    def has_permission(self, request, view) -> bool:
        try:
            return super().has_permission(request, view)
        except exceptions.PermissionDenied as refused:
            if refused.get_codes() == "read_only_token":
                return True  # the role check came first and let the user through
            raise


class PatientSearchByPost(PatientSearch):
    """POST /fhir/Patient/_search with the parameters as a form (application/x-www-form-urlencoded, or
    multipart as browsers may send it):
    the FHIR way to search by CPR number without putting it in the address (STYLE.md rule 4), where
    web servers and proxies log it."""

    permission_classes = [SearchIsARead]
    parser_classes = [parsers.FormParser, parsers.MultiPartParser]
    http_method_names = ["post"]

    def post(self, request):
        return self.search(request, request.data)


class PatientEverything(FhirView):
    """GET /fhir/Patient/<id>/$everything: the citizen and every resource about them, in one
    searchset Bundle (one access-log row)."""

    def get(self, request, public_id: str):
        parse(request.query_params, set())
        ctx = self.ctx()
        p = patient_selectors.patient_for(
            request.user, _public_id(public_id), what=gettext_noop("FHIR: Patient/$everything")
        )
        entries = [entry(ctx, r.patient(p, ctx))]
        for kind in KINDS.values():
            entries.extend(entry(ctx, kind.build(obj, ctx, p.public_id), "include") for obj in kind.queryset(p))
        return Response(bundle(request, ctx, entries, total=len(entries)))


# --- AuditEvent: the citizen's access log (GDPR art. 15) ------------------------------------------------------


class AuditEventSearch(FhirView):
    """GET /fhir/AuditEvent?patient=Patient/<id> (or entity=Patient/<id>, or patient.identifier=
    urn:oid:1.2.208.176.1.2|<cpr> for the administrator who has only the number): who read or
    changed what about the citizen, newest first. For the citizen's care team (the page 'who viewed
    this record') and for administrators (the export of GDPR art. 15, logged as an export)."""

    access_work = (Work.CITIZENS, Work.ACCESS_LOG_EXPORT)

    def get(self, request):
        parsed = parse(request.query_params, {"patient", "entity", "patient.identifier", "date"})
        dates = date_filter(parsed.values["date"], "at") if "date" in parsed.values else None
        exporting = not access.may(request.user, Work.CITIZENS)
        ctx = self.ctx()
        identifier = parsed.one("patient.identifier")
        if identifier is not None:
            if parsed.values.get("patient") or parsed.values.get("entity"):
                raise BadSearch(_("Name the citizen once."))
            patient = self._by_number(request, identifier, exporting)
            if patient is None:
                return Response(bundle(request, ctx, [], total=0, parsed=parsed))
        else:
            public_id = _patient_of(parsed, ("patient", "entity"))
            patient = patient_selectors.patient_for(
                request.user,
                public_id,
                what=gettext_noop("access log export (GDPR art. 15)")
                if exporting
                else gettext_noop("FHIR: AuditEvent (who viewed this record)"),
                action=AccessAction.EXPORT if exporting else AccessAction.VIEW,
                work=Work.ACCESS_LOG_EXPORT if exporting else Work.CITIZENS,
            )
        entries = access_log_for_patient(patient_public_id=patient.public_id)
        if dates is not None:
            entries = entries.filter(dates)

        def build(log_entry, ctx, patient_id):
            return r.audit_event(log_entry, ctx, patient_id, _(log_entry.what))

        return Response(page_of(request, ctx, entries, parsed=parsed, build=build, patient_id=patient.public_id))

    def _by_number(self, request, identifier: str, exporting: bool) -> Patient | None:
        number = _cpr_number(identifier)
        if number is None:
            raise BadSearch(_("Give the CPR number as urn:oid:1.2.208.176.1.2|<ten digits>."))
        if exporting:
            return patient_selectors.citizen_for_access_log_export(request.user, number)
        found = Patient.objects.filter(cpr=number).only("public_id").first()
        if found is None:
            access.listed(request.user, gettext_noop("FHIR: AuditEvent search by a CPR number no citizen has"))
            return None
        return patient_selectors.patient_for(
            request.user, found.public_id, what=gettext_noop("FHIR: AuditEvent (who viewed this record)")
        )


# --- CapabilityStatement ---------------------------------------------------------------------------------------


class Metadata(FhirView):
    """GET /fhir/metadata: what this server does. For everyone who may use one of its resources."""

    access_work = (Work.CITIZENS, Work.ACCESS_LOG_EXPORT)

    def get(self, request):
        parse(request.query_params, {"mode"})
        ctx = self.ctx()
        resources = [
            {
                "type": "Patient",
                "profile": "http://hl7.org/fhir/StructureDefinition/Patient",
                "interaction": [{"code": "read"}, {"code": "search-type"}],
                "searchParam": [
                    {
                        "name": "identifier",
                        "type": "token",
                        "documentation": "urn:oid:1.2.208.176.1.2|<CPR number>; best sent as a form to "
                        "POST Patient/_search, which keeps the number out of the address",
                    },
                    {"name": "_id", "type": "token"},
                ],
                "operation": [
                    {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"}
                ],
            }
        ]
        for kind in KINDS.values():
            resources.append(
                {
                    "type": kind.name,
                    "interaction": [{"code": "read"}, {"code": "search-type"}],
                    "searchParam": [{"name": name, "type": kind_} for name, kind_ in search_params(kind)],
                }
            )
        resources.append(
            {
                "type": "AuditEvent",
                "interaction": [{"code": "search-type"}],
                "searchParam": [
                    {"name": "patient", "type": "reference"},
                    {"name": "entity", "type": "reference"},
                    {"name": "patient.identifier", "type": "token"},
                    {"name": "date", "type": "date"},
                ],
            }
        )
        for resource in resources:
            resource["searchParam"] += [{"name": "_count", "type": "number"}]
        return Response(
            {
                "resourceType": "CapabilityStatement",
                "status": "active",
                "date": r.instant(timezone.now()),
                "publisher": "Sundhedscenter",
                "kind": "instance",
                "software": {"name": "Sundhedscenter"},
                "implementation": {"description": _("The health centre's records, read-only"), "url": ctx.base},
                "fhirVersion": FHIR_VERSION,
                "format": ["json"],
                "rest": [
                    {
                        "mode": "server",
                        "documentation": _(
                            "Read-only. Search parameters are handled strictly: an unknown one is refused (400). "
                            "Outside the care relation a citizen and their records do not exist (404). "
                            "Paging with _count and _offset."
                        ),
                        "security": {
                            "service": [
                                {
                                    "coding": [
                                        {
                                            "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                            "code": "Basic",
                                        }
                                    ],
                                    "text": "Authorization: Bearer <personal API token>, or the browser's session",
                                }
                            ]
                        },
                        "resource": resources,
                    }
                ],
            }
        )


def read_view(kind: Kind):
    return type(f"{kind.name}Read", (ResourceRead,), {"kind": kind, "__doc__": ResourceRead.__doc__})


def search_view(kind: Kind):
    return type(f"{kind.name}Search", (ResourceSearch,), {"kind": kind, "__doc__": ResourceSearch.__doc__})
