"""The one access layer (issue 10; STYLE.md rule 3). Every check of a role, a care relation or an
object's team goes through this module, and so does every access-log row.

The apps find the object and its citizen themselves (this module knows no app's models: the apps
depend on it, healthcenter <- patients <- coordination <- reporting) and hand over what a decision
needs: the citizen, as anything with a `public_id` and a `team_id` (a Patient is one). Then this
module

- decides: the user's role may do the kind of work asked for (`WORK_ROLES`, the whole role policy
  in one table) and, for work on citizens, the citizen's team is one of the user's teams (the care
  relation);
- writes one access-log row under the citizen's public id, allowed or denied, before it answers, so
  that the citizen's own log shows refused attempts too;
- answers 404, never 403: a refused citizen and one who does not exist look the same (no probing).

Views use the decorators below and the `*_for` selectors of their app, which end here; they never
write log rows themselves (`listed` and `rejected` name the two things only a view knows: which list
it showed, and that it refused a form)."""

import enum
import uuid
from collections.abc import Callable, Iterable
from functools import wraps
from typing import NoReturn, Protocol

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse

from .models import AccessAction, AccessLog, AccessOutcome, Role, User


class Work(enum.StrEnum):
    """What a page or a service does, as the role table knows it."""

    # The citizen's record: read it, write to it, work its tasks, referrals and handover notes.
    CITIZENS = "citizens"
    # Coordinator-only actions: register referrals and triage them.
    TRIAGE = "triage"
    # The quality dashboard, its CSV/XLSX exports and the quarterly report.
    FIGURES = "figures"
    # Approving or returning good stories, and the queue of them.
    STORY_REVIEW = "story_review"
    # A citizen's access log as a file (GDPR art. 15).
    ACCESS_LOG_EXPORT = "access_log_export"


WORK_ROLES: dict[Work, frozenset[str]] = {
    Work.CITIZENS: frozenset({Role.PROFESSIONAL, Role.COORDINATOR}),
    Work.TRIAGE: frozenset({Role.COORDINATOR}),
    Work.FIGURES: frozenset({Role.MANAGER, Role.COORDINATOR}),
    Work.STORY_REVIEW: frozenset({Role.MANAGER}),
    Work.ACCESS_LOG_EXPORT: frozenset({Role.ADMINISTRATOR}),
}

# Work on an identifiable citizen needs the care relation as well as the role: the citizen's
# current team is one of the user's teams. A manager reads a pseudonymised story of any team, and an
# administrator exports any citizen's access log, without one.
NEEDS_CARE_RELATION = frozenset({Work.CITIZENS, Work.TRIAGE})

# Managers see the whole centre's figures and administrators can give anyone access: a stolen
# password alone must not be enough for either. Staff reach the Django admin, so they count too
# (healthcenter.accounts asks `two_factor_required_by_role`).
TWO_FACTOR_ROLES = frozenset({Role.MANAGER, Role.ADMINISTRATOR})


class Citizen(Protocol):
    """What a decision needs to know about a citizen, found by the calling app's selector."""

    public_id: uuid.UUID
    team_id: int


def roles_for(work: Work) -> list[str]:
    """For querysets: the roles of the people who may do this work (e.g. whom a task can go to)."""
    return sorted(WORK_ROLES[work])


def may(user, work: Work) -> bool:
    """The role check. Superusers count as administrators for the administrator's work only: the
    flag never opens a citizen's record or the figures."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.role in WORK_ROLES[work] or (work is Work.ACCESS_LOG_EXPORT and user.is_superuser)


def care_team_ids(user) -> set[int]:
    """The teams through which the user has a care relation (none for a role that does not work with
    citizens); cached on the user for the request."""
    if not hasattr(user, "_care_team_ids"):
        user._care_team_ids = set(user.teams.values_list("id", flat=True)) if may(user, Work.CITIZENS) else set()
    return user._care_team_ids


def cares_for(user, team_id: int | None) -> bool:
    """The care relation to a team's citizens (and its tasks): the user works with citizens and is
    a member of the team."""
    return team_id is not None and team_id in care_team_ids(user)


def may_work_on(user, work: Work, team_id: int | None) -> bool:
    """The decision without logging, for services that validate an actor: the role, and the care
    relation where the work needs one."""
    return may(user, work) and (work not in NEEDS_CARE_RELATION or cares_for(user, team_id))


# --- decisions about one citizen ----------------------------------------------------------------------


def check(
    user: User,
    citizen: Citizen | None,
    *,
    what: str,
    action: AccessAction = AccessAction.VIEW,
    work: Work = Work.CITIZENS,
    requested_id: uuid.UUID | None = None,
    condition: bool = True,
) -> bool:
    """Decides and writes one access-log row under the citizen, allowed or denied; returns the
    decision. `citizen` is None when nothing was found (then the row carries `requested_id`, the
    citizen id that was asked for, if the request named one). `condition` is the calling app's own
    rule about the object (a story is only its author's to edit), decided together with the role
    and the care relation so that one row says what happened."""
    allowed = citizen is not None and condition and may_work_on(user, work, citizen.team_id)
    record(
        actor=user,
        action=action,
        what=what,
        outcome=AccessOutcome.ALLOWED if allowed else AccessOutcome.DENIED,
        patient_public_id=citizen.public_id if citizen is not None else requested_id,
    )
    return allowed


def authorise(
    user: User,
    citizen: Citizen | None,
    *,
    what: str,
    action: AccessAction = AccessAction.VIEW,
    work: Work = Work.CITIZENS,
    requested_id: uuid.UUID | None = None,
    condition: bool = True,
) -> None:
    """`check`, answering 404 when it refuses: what every `*_for` selector ends with."""
    if not check(user, citizen, what=what, action=action, work=work, requested_id=requested_id, condition=condition):
        raise Http404


def authorise_team(user: User, team_id: int | None, *, what: str, action: AccessAction = AccessAction.VIEW) -> None:
    """For a team's own things that concern no citizen (a task about no one, a team's workload):
    the care relation to the team, or 404. A refusal is logged (without a citizen, as there is none);
    an allowed read of no citizen's data is not."""
    if not cares_for(user, team_id):
        deny(user, what=what, action=action)


def deny(
    user: User, *, what: str, action: AccessAction = AccessAction.VIEW, patient_public_id: uuid.UUID | None = None
) -> NoReturn:
    record(actor=user, action=action, what=what, outcome=AccessOutcome.DENIED, patient_public_id=patient_public_id)
    raise Http404


# --- the log's writers -----------------------------------------------------------------------------------


def record(
    *,
    actor: User,
    action: AccessAction,
    what: str,
    outcome: AccessOutcome = AccessOutcome.ALLOWED,
    patient_public_id: uuid.UUID | None = None,
) -> AccessLog:
    """Writes one access-log row: the only place that does (with `record_many`). Services record
    what they write; denied and rejected attempts are written outside any transaction that is
    about to roll back, so that the log keeps them. `what` is an untranslated msgid
    (gettext_noop) where it is a fixed text: the log stores it, pages translate it."""
    return AccessLog.objects.create(
        user=actor,
        role=actor.role,
        patient_public_id=patient_public_id,
        action=action,
        what=_loggable(what),
        outcome=outcome,
    )


def _loggable(what: str) -> str:
    """`what` as the log can hold it: 200 characters, and no NUL byte, which PostgreSQL refuses in text
    (an address or a list's criteria as a client typed them, e.g. ?x=%00, would make the request a 500)."""
    return what.replace("\x00", "\ufffd")[:200]


def record_many(*, actor: User, action: AccessAction, what: str, patient_public_ids: Iterable[uuid.UUID]) -> None:
    """One allowed row per citizen, in one query: a page or a service that touches several
    citizens at once (the approved stories in a report, tasks handed on) logs each of them."""
    AccessLog.objects.bulk_create(
        AccessLog(user=actor, role=actor.role, patient_public_id=public_id, action=action, what=_loggable(what))
        for public_id in patient_public_ids
    )


def listed(user: User, what: str) -> None:
    """A list that shows citizens' names writes one row with its criterion, not a row per citizen."""
    record(actor=user, action=AccessAction.SEARCH, what=what)


def rejected(
    user: User, patient_public_id: uuid.UUID, what: str, *, action: AccessAction = AccessAction.UPDATE
) -> None:
    """A form about the citizen was refused (invalid input, or a CPR number already registered):
    the allowed read was logged by the `*_for` selector, the failed write is logged here."""
    record(actor=user, action=action, what=what, outcome=AccessOutcome.REJECTED, patient_public_id=patient_public_id)


# --- the views' role checks ---------------------------------------------------------------------------------


def _action_of(request: HttpRequest) -> AccessAction:
    return AccessAction.VIEW if request.method in ("GET", "HEAD", "OPTIONS") else AccessAction.UPDATE


# The one query parameter that names a citizen (the task form and the board filtered to one citizen),
# by public id only (STYLE.md rule 4).
CITIZEN_PARAMETER = "citizen"


def _citizen_named(request: HttpRequest) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.GET.get(CITIZEN_PARAMETER, ""))
    except ValueError:
        return None


def requires(work: Work) -> Callable:
    """A view decorator: signed in (else the login page), never cached, and the role may do `work`.

    A role that may not is refused with 404 and a denied row. Where the URL names an object by
    `public_id` (a citizen, or one of their encounters, tasks, referrals, stories...), the refusal is
    left to the view's `*_for` selector, which finds the citizen first and logs the refusal under
    them; the view must call it before anything else. Should a view ever return without having been
    refused, it is refused here after all (tests/test_authorisation_matrix.py would show it), unless
    it refused the method (405): that comes before anyone is looked up, for every role alike, so it
    tells a manager no more than an outsider. Where the query names a citizen (`?citizen=`), the
    refusal is logged under the citizen it names."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            user = request.user
            if may(user, work):
                return view(request, *args, **kwargs)
            if "public_id" in kwargs:
                answer = view(request, *args, **kwargs)
                if answer.status_code == 405:
                    return answer
            deny(user, what=request.path, action=_action_of(request), patient_public_id=_citizen_named(request))

        wrapper.access_work = work
        # No Cache-Control here: NoStoreWhenSignedInMiddleware sends no-store with every signed-in response.
        return login_required(wrapper)

    return decorator


def citizen_work(view: Callable) -> Callable:
    """Citizens' records: professionals and coordinators, each within their teams' care relation
    (decided by the `*_for` selectors); for everyone else these pages do not exist."""
    return requires(Work.CITIZENS)(view)


def triage_work(view: Callable) -> Callable:
    """Coordinator-only actions: registering referrals and triaging them."""
    return requires(Work.TRIAGE)(view)


def figures_work(view: Callable) -> Callable:
    """The quality dashboard, its CSV/XLSX exports and the quarterly report: managers and
    coordinators. Coordinators see them on purpose (the lead's decision, issue 10): waiting time,
    open loops and overdue tasks are their daily work, and nothing on these pages identifies anyone,
    since every figure goes through the display function's discretion (reporting/display.py: no
    identifiers, no counts of 1-4) and the approved stories shown are pseudonymised. Professionals
    and administrators get 404."""
    return requires(Work.FIGURES)(view)


def story_review_work(view: Callable) -> Callable:
    """The queue of good stories, and approving or returning one: managers only."""
    return requires(Work.STORY_REVIEW)(view)


def access_log_export_work(view: Callable) -> Callable:
    """One citizen's access log as a file (GDPR art. 15): administrators."""
    return requires(Work.ACCESS_LOG_EXPORT)(view)
