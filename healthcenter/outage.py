"""A database outage (PostgreSQL restarting, a failover, a dropped network link) answers each
request with a calm 503 page in the user's language, and the web process recovers by itself
when the database is back: the broken connection is discarded, so the next request opens a new
one (settings.CONN_HEALTH_CHECKS also tests a kept connection before a request uses it).

Two ways in, because an outage shows wherever the first query of a request happens to be:
- `DatabaseUnavailableMiddleware.process_exception` for the views (and the login check they do);
- `server_error`, the 500 handler, for a query in a middleware (pghistory's reads the user
  before the view runs), which Django turns into a 500 before any middleware could catch it.
"""

import contextlib
import logging
import sys

from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.views import defaults

logger = logging.getLogger(__name__)

# Long enough for PostgreSQL to restart, short enough that a person trying again is not kept waiting.
RETRY_AFTER_SECONDS = 30


def is_database_unavailable(error: BaseException | None) -> bool:
    """OperationalError covers a refused or dropped connection (and transient conditions such as a
    deadlock, for which "try again in a moment" is also the right answer); InterfaceError is a
    connection psycopg already knows to be closed."""
    return isinstance(error, (OperationalError, InterfaceError))


def discard_broken_connections() -> None:
    """Closes every connection of this thread that no longer answers, so that the next request
    connects afresh instead of failing on the dead socket. A connection that still answers is kept
    (the error may have been a deadlock, not an outage)."""
    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.is_usable():
            with contextlib.suppress(DatabaseError):
                connection.close()


def database_unavailable(request: HttpRequest, error: BaseException) -> HttpResponse:
    logger.error(
        "Database unavailable during %s %s: %s: %s",
        request.method,
        request.path,
        type(error).__name__,
        str(error).strip().splitlines()[0] if str(error).strip() else "",
    )
    discard_broken_connections()
    # The middleware the response still passes (the no-store rule, pghistory) must not try the
    # database again to find out who is signed in; the page below names nobody.
    request.user = AnonymousUser()
    # Rendered without a request: the context processors would read the user from the database.
    body = loader.render_to_string(
        "503.html",
        {
            "retry_after": RETRY_AFTER_SECONDS,
            "was_saving": request.method not in {"GET", "HEAD", "OPTIONS"},
        },
    )
    response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    # A proxy or the browser must not keep the outage page in place of the real one.
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_unavailable(exception):
            return database_unavailable(request, exception)
        return None


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's 500 handler, except for an outage met outside a view: Django calls the handler
    while it handles the exception, so the exception is the one in flight."""
    error = sys.exc_info()[1]
    if is_database_unavailable(error):
        return database_unavailable(request, error)
    return defaults.server_error(request)
