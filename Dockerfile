# One image for web (gunicorn), worker and beat (celery); docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app

# pyproject.toml installs no code ([tool.setuptools] packages = []): `pip install .` installs the
# dependencies, and the apps run from /app (PYTHONPATH). --build-constraint needs pip 25.3+.
COPY pyproject.toml build-constraints.txt ./
RUN pip install "pip>=25.3" \
    && pip install --build-constraint build-constraints.txt . \
    && rm -rf build *.egg-info

# Only the application, so that a developer's .venv, .local (embedded databases) and .git stay out.
COPY manage.py ./
COPY healthcenter ./healthcenter
COPY patients ./patients
COPY scheduling ./scheduling
COPY coordination ./coordination
COPY reporting ./reporting
COPY fhirserver ./fhirserver
COPY templates ./templates
COPY static ./static
COPY locale ./locale

# Settings require SECRET_KEY, DATABASE_URL and CENTRE_PHONE; collectstatic uses none, so throwaway values do.
RUN SECRET_KEY=build-only-collectstatic-key-not-used-at-runtime \
    DATABASE_URL=postgresql://build@localhost:5432/build \
    CENTRE_PHONE=none \
    python manage.py collectstatic --no-input -v 0

# A writable home for gunicorn's control socket; the code and static files stay owned by root.
# The access log's archive folder belongs to app, so that the volume docker-compose.yml mounts there
# starts out writable by the worker and closed to everyone else (healthcenter/retention.py).
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/app app \
    && install -d -o app -g app -m 0700 /var/lib/healthcenter/access-log-archive
USER app

EXPOSE 8000
CMD ["gunicorn", "healthcenter.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
