"""The week views: a professional's (one's own or a colleague's), a team's and a room's, Monday to
Sunday (the weekend only when something is on it), 07-18 or longer when something is booked earlier or
later (the grid then covers it; free slots are offered within 07-18 only). The grid is server-rendered; htmx swaps it
when moving between weeks and opens the booking form in a free half-hour. Every part works without
JavaScript too (the links are plain links to the same pages).

A calendar shows the appointments of citizens the viewer may not care for (a colleague in two
teams, a shared room); those are "Booked", with kind and place, never the citizen's name
(scheduling.selectors.shows_citizen)."""

import dataclasses
import datetime
import functools
import math
import uuid
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext

from healthcenter import access
from healthcenter.access import citizen_work
from healthcenter.models import User
from patients.selectors import PatientSearch, patient_for, patient_search_logged

from .. import forms, selectors
from ..models import AppointmentStatus, Reservation, Room

DAY_STARTS = datetime.time(7)
DAY_ENDS = datetime.time(18)
# The grid's rows are quarter-hours (a 45-minute appointment ends where it ends); a free slot is a
# half-hour, two rows. calendar.css has a class for every row and span of a whole day
# (r-2..r-97, s-1..s-96).
ROW_MINUTES = 15
SLOT_MINUTES = 30


@dataclasses.dataclass(frozen=True)
class GridHours:
    """The hours a week's grid shows: 07-18, stretched to the earliest start and the latest end of
    what is on the week, so that a block at 06:00 or 19:30 has rows of its own (pressed into the
    first or last row, blocks outside 07-18 were drawn on top of each other)."""

    first: int = DAY_STARTS.hour
    last: int = DAY_ENDS.hour  # the hour the grid ends at, up to 24

    @property
    def rows(self) -> int:
        return (self.last - self.first) * 60 // ROW_MINUTES


def grid_hours(reservations: list[Reservation]) -> GridHours:
    first, last = DAY_STARTS.hour, DAY_ENDS.hour
    for reservation in reservations:
        start, end = timezone.localtime(reservation.during.lower), timezone.localtime(reservation.during.upper)
        first = min(first, start.hour)
        last = 24 if end.date() > start.date() else max(last, end.hour + (1 if end.minute else 0))
    return GridHours(first=first, last=last)


# --- the week asked for ------------------------------------------------------------------------------


def monday_of(request: HttpRequest) -> datetime.date:
    """`?week=2026-W49` (an ISO week); this week when it is missing, not a week or outside the calendar."""
    text = request.GET.get("week", "")
    try:
        year, week = text.split("-W")
        monday = datetime.date.fromisocalendar(int(year), int(week), 1)
        if selectors.in_calendar(monday):
            return monday
    except ValueError:
        pass
    today = timezone.localdate()
    return today - datetime.timedelta(days=today.weekday())


def iso_week(monday: datetime.date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _moment(day: datetime.date, at: datetime.time) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, at))


# --- what the viewer sees of a reservation ---------------------------------------------------------------


@dataclasses.dataclass
class Block:
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    title: str
    detail: str
    url: str | None
    status: str
    named: bool
    course: bool
    people: str
    css: str = ""

    @property
    def day(self) -> datetime.date:
        return self.starts_at.date()


def block_of(user: User, reservation: Reservation) -> Block:
    start, end = timezone.localtime(reservation.during.lower), timezone.localtime(reservation.during.upper)
    if reservation.session_id:
        course = reservation.session.course
        mine = access.cares_for(user, course.team_id)
        return Block(
            starts_at=start,
            ends_at=end,
            title=course.name,
            detail=" · ".join([_("Group session"), course.room.name]),
            url=reverse("scheduling:course", args=[course.public_id]) if mine else None,
            status="",
            named=False,
            course=True,
            people=", ".join(p.get_full_name() for p in course.professionals.all()),
        )
    appointment = reservation.appointment
    named = selectors.shows_citizen(user, appointment)
    place = appointment.room.name if appointment.room else appointment.get_place_display()
    return Block(
        starts_at=start,
        ends_at=end,
        title=appointment.patient.full_name if named else pgettext("calendar, a time taken", "Booked"),
        detail=" · ".join([appointment.get_kind_display(), place]),
        url=reverse("scheduling:appointment", args=[appointment.public_id]) if named else None,
        status=appointment.get_status_display() if appointment.status != AppointmentStatus.BOOKED else "",
        named=named,
        course=False,
        people=", ".join(p.get_full_name() for p in appointment.professionals.all()),
    )


def _row(moment: datetime.datetime, grid: GridHours) -> int:
    """The grid row a moment falls in (row 1 is the days' heading), kept inside the grid's hours."""
    minutes = (moment.hour - grid.first) * 60 + moment.minute
    return 2 + min(max(minutes // ROW_MINUTES, 0), grid.rows - 1)


def _placed(block: Block, column: int, grid: GridHours) -> Block:
    first = _row(block.starts_at, grid)
    end_minutes = (block.ends_at.hour - grid.first) * 60 + block.ends_at.minute
    if block.ends_at.date() > block.starts_at.date():
        end_minutes = grid.rows * ROW_MINUTES
    last = 2 + min(math.ceil(end_minutes / ROW_MINUTES), grid.rows)
    block.css = f"c-{column} r-{first} s-{max(last - first, 1)}"
    return block


# --- the grid ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class Slot:
    starts_at: datetime.datetime
    css: str
    query: str


@dataclasses.dataclass
class Day:
    date: datetime.date
    column: int
    is_today: bool
    blocks: list[Block]
    slots: list[Slot] = dataclasses.field(default_factory=list)
    first_free: Slot | None = None


def free_slots(
    day: datetime.date,
    blocks: list[Block],
    *,
    now: datetime.datetime,
    column: int,
    book: dict,
    grid: GridHours = GridHours(),
) -> list[Slot]:
    """The half-hours of the day (07-18, however far the grid reaches) nothing is booked in, from now
    on: each opens the booking form for its time (`book` names the professional or the room)."""
    slots = []
    start = _moment(day, DAY_STARTS)
    offset = (DAY_STARTS.hour - grid.first) * 60 // ROW_MINUTES
    for index in range(GridHours().rows * ROW_MINUTES // SLOT_MINUTES):
        begins = start + datetime.timedelta(minutes=index * SLOT_MINUTES)
        ends = begins + datetime.timedelta(minutes=SLOT_MINUTES)
        if begins < now or any(b.starts_at < ends and begins < b.ends_at for b in blocks):
            continue
        query = urlencode({**book, "slot": timezone.localtime(begins).strftime("%Y-%m-%dT%H:%M")})
        slots.append(
            Slot(starts_at=timezone.localtime(begins), css=f"c-{column} r-{2 + offset + index * 2} s-2", query=query)
        )
    return slots


def build_days(
    user: User,
    monday: datetime.date,
    reservations: list[Reservation],
    *,
    book: dict,
    now: datetime.datetime,
    weekend: bool | None = None,
    grid: GridHours = GridHours(),
) -> list[Day]:
    """Monday to Friday, and the weekend if anything is on it (or `weekend` says so), each with its
    blocks and free slots placed in the grid's hours (grid_hours)."""
    blocks = [block_of(user, r) for r in reservations]
    dates = [monday + datetime.timedelta(days=n) for n in range(7)]
    if not (any(b.day.weekday() >= 5 for b in blocks) if weekend is None else weekend):
        dates = dates[:5]
    days = []
    for column, date in enumerate(dates, start=2):
        todays = [_placed(b, column, grid) for b in blocks if b.day == date]
        slots = free_slots(date, todays, now=now, column=column, book=book, grid=grid)
        days.append(Day(date=date, column=column, is_today=date == now.date(), blocks=todays, slots=slots))
    return days


def hours(grid: GridHours = GridHours()) -> list[dict]:
    return [
        {"label": f"{hour:02d}:00", "css": f"r-{2 + (hour - grid.first) * 4} s-4"}
        for hour in range(grid.first, grid.last)
    ]


def _week_bounds(monday: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    return _moment(monday, datetime.time(0)), _moment(monday + datetime.timedelta(days=7), datetime.time(0))


def _navigation(request: HttpRequest, monday: datetime.date, keep: dict) -> dict:
    def link(day: datetime.date | None) -> str:
        query = {**keep, **({"week": iso_week(day)} if day else {})}
        return f"{request.path}?{urlencode(query)}" if query else request.path

    sunday = monday + datetime.timedelta(days=6)
    return {
        "week": iso_week(monday),
        "week_number": monday.isocalendar()[1],
        "first_day": monday,
        "last_day": sunday,
        "previous_url": link(monday - datetime.timedelta(days=7)),
        "next_url": link(monday + datetime.timedelta(days=7)),
        "today_url": link(None),
        "here_url": link(monday),
    }


def _switcher(user: User) -> dict:
    """The other weeks one can open from here: one's teams and the centre's rooms."""
    return {
        "my_teams": list(user.teams.filter(id__in=access.care_team_ids(user)).order_by("name")),
        "rooms": list(Room.objects.filter(is_active=True)),
    }


def _render_week(request: HttpRequest, context: dict) -> HttpResponse:
    """The grid alone for htmx's moves between weeks; the whole page otherwise (also when htmx
    restores a page from history it no longer has)."""
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "scheduling/week_grid.html", context)
    return render(request, "scheduling/week.html", {**context, **_switcher(request.user)})


def _log_names(user: User, days: list[Day], what: str) -> None:
    if any(block.named for day in days for block in day.blocks):
        access.listed(user, what)


# --- booking in a free slot ----------------------------------------------------------------------------


def _slot_start(request: HttpRequest) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.fromisoformat(request.GET.get("slot", ""))
    except ValueError:
        return None
    if not selectors.in_calendar(moment.date()):
        return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def slot_step(
    request: HttpRequest, *, week_url: str, week: str, team_ids: set[int] | None, whom: str, book: dict
) -> HttpResponse | dict | None:
    """A free slot was chosen (`?slot=`). The first step asks for the citizen: a search field (name or
    CPR number, the citizens list's search) among the viewer's citizens, or the team's, posted as one
    types (htmx answers with the matches alone) or with its button (the whole page without
    JavaScript). A name or a CPR number never goes in a URL (DESIGN.md), so the term is posted; each
    match links on with the citizen's public id. The second step (`&citizen=<public id>`) shows the
    booking form for them in the panel (htmx) or sends the browser to the booking page. None when no
    slot was asked for."""
    start = _slot_start(request)
    if start is None:
        return None
    start = timezone.localtime(start)
    params = {**book, "start": start.isoformat(timespec="minutes"), "next": week_url}
    citizen = request.GET.get("citizen")
    if citizen and request.method == "GET":
        try:
            public_id = uuid.UUID(citizen)
        except ValueError:
            access.deny(request.user, what=gettext_noop("booking form from a week view"))
        patient = patient_for(request.user, public_id, what=gettext_noop("booking form from a week view"))
        book_url = reverse("scheduling:book", args=[patient.public_id])
        if not request.htmx:
            return redirect(f"{book_url}?{urlencode(params)}")
        initial = forms.initial_from(params, user=request.user, patient=patient)
        form = forms.AppointmentForm(patient=patient, initial=initial)
        context = {"form": form, "patient": patient, "action": book_url, "next": week_url, "start": start}
        return render(request, "scheduling/booking_panel.html", context)
    # The week's own parameters (whose week, which week, which slot), kept by the search and its matches.
    here = [(name, value) for name, value in request.GET.items() if name != "citizen"]
    term = request.POST.get("term", "")[:100].strip() if request.method == "POST" else ""
    citizens, more = [], False
    if term:
        search = PatientSearch(term=term, team_id=next(iter(team_ids)) if team_ids else None)
        citizens, more = selectors.bookable_citizens(request.user, search)
        patient_search_logged(request.user, search, page=1)
    panel = {
        "start": start,
        "whom": whom,
        "term": term,
        "citizens": citizens,
        "more": more,
        "limit": selectors.SLOT_SEARCH_LIMIT,
        "week_url": week_url,
        "week": week,
        "search_url": f"{request.path}?{urlencode(here)}",
        "choose_url": f"{request.path}?{urlencode(here)}&citizen=",
    }
    if request.htmx:
        template = "scheduling/week_slot_results.html" if request.method == "POST" else "scheduling/week_slot.html"
        return render(request, template, {"panel": panel})
    return panel


def get_or_slot_search(view):
    """GET, and POST only for a free slot's citizen search (`?slot=` in the address); any other POST
    is 405 as before."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method == "GET" or (request.method == "POST" and _slot_start(request) is not None):
            return view(request, *args, **kwargs)
        return HttpResponseNotAllowed(["GET"])

    return wrapped


# --- the three views -------------------------------------------------------------------------------------


@citizen_work
@get_or_slot_search
def my_week(request: HttpRequest) -> HttpResponse:
    """The signed-in professional's week, or with `?member=<pk>` a colleague's (someone in one of the
    viewer's teams; anyone else is 404)."""
    user = request.user
    person = user
    keep = {}
    if request.GET.get("member"):
        person = selectors.colleague_for(user, request.GET["member"], what=gettext_noop("a colleague's week"))
        keep["member"] = person.pk
    return _person_or_room_week(request, person=person, room=None, keep=keep)


@citizen_work
@get_or_slot_search
def room_week(request: HttpRequest, room_public_id: uuid.UUID) -> HttpResponse:
    """A room's week: open to everyone who works with citizens (a room is the centre's); the
    citizens' names only within the care relation."""
    room = selectors.room_for(request.user, room_public_id, what=gettext_noop("a room's week"))
    return _person_or_room_week(request, person=None, room=room, keep={})


def _person_or_room_week(request: HttpRequest, *, person: User | None, room: Room | None, keep: dict) -> HttpResponse:
    user, now = request.user, timezone.localtime()
    monday = monday_of(request)
    navigation = _navigation(request, monday, keep)
    book = {"room": str(room.public_id)} if room else {"professional": person.pk}
    whom = room.name if room else person.get_full_name()
    panel = slot_step(
        request, week_url=navigation["here_url"], week=navigation["week"], team_ids=None, whom=whom, book=book
    )
    if isinstance(panel, HttpResponse):
        return panel
    start, end = _week_bounds(monday)
    reservations = selectors.week_reservations(
        start=start, end=end, professionals=[person] if person else None, room=room
    )
    grid = grid_hours(reservations)
    days = build_days(user, monday, reservations, book={**keep, "week": navigation["week"], **book}, now=now, grid=grid)
    _log_names(user, days, f"week {navigation['week']} of " + (f"room {room.pk}" if room else f"user {person.pk}"))
    context = {
        **navigation,
        "kind": "room" if room else "person",
        "person": person,
        "room": room,
        "whom": whom,
        "is_mine": person == user,
        "days": days,
        "hours": hours(grid),
        "grid_rows": grid.rows,
        "panel": panel,
    }
    return _render_week(request, context)


@citizen_work
@get_or_slot_search
def team_week(request: HttpRequest, team_public_id: uuid.UUID) -> HttpResponse:
    """A team's week: a row per member who works with citizens, a column per day; each cell lists
    what the member has that day and offers the first free half-hour. Only the team's members."""
    user, now = request.user, timezone.localtime()
    team = selectors.team_for(user, team_public_id, what=gettext_noop("a team's week"))
    monday = monday_of(request)
    navigation = _navigation(request, monday, {})
    members = list(selectors.team_professionals([team.pk]))
    panel = None
    member = next((m for m in members if str(m.pk) == request.GET.get("professional")), None)
    if member is not None:
        panel = slot_step(
            request,
            week_url=navigation["here_url"],
            week=navigation["week"],
            team_ids={team.pk},
            whom=member.get_full_name(),
            book={"professional": member.pk},
        )
        if isinstance(panel, HttpResponse):
            return panel
    if panel is None and request.method == "POST":
        return HttpResponseNotAllowed(["GET"])  # a search for a slot of no one in the team
    start, end = _week_bounds(monday)
    reservations = selectors.week_reservations(start=start, end=end, professionals=members)
    by_member: dict[int, list[Reservation]] = {m.pk: [] for m in members}
    for reservation in reservations:
        by_member[reservation.professional_id].append(reservation)
    # Every row shows the same days: the weekend when anyone has something on it.
    weekend = any(timezone.localtime(r.during.lower).weekday() >= 5 for r in reservations)
    rows = []
    for person in members:
        book = {"week": navigation["week"], "professional": person.pk}
        days = build_days(user, monday, by_member[person.pk], book=book, now=now, weekend=weekend)
        for day in days:
            # A cell offers one slot: the first free half-hour from 08:00 (or from now).
            day.first_free = next((s for s in day.slots if s.starts_at.hour >= 8), None)
        rows.append({"person": person, "days": days})
    _log_names(user, [d for row in rows for d in row["days"]], f"week {navigation['week']} of team {team.pk}")
    context = {
        **navigation,
        "kind": "team",
        "team": team,
        "whom": team.name,
        "rows": rows,
        "day_heads": rows[0]["days"] if rows else [],
        "panel": panel,
    }
    return _render_week(request, context)
