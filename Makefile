# Two commands for a newcomer: `make demo` and `make test`. Both create what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint format install messages bench verify-figures clean backup restore check-faults

$(STAMP): pyproject.toml build-constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=25.3"
	# xstatic-bootstrap's sdist still imports pkg_resources, which setuptools 81 removed.
	$(PY) -m pip install --quiet --build-constraint build-constraints.txt -e ".[embedded,dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m healthcenter.runtime demo

test: $(STAMP)
	$(PY) -m healthcenter.runtime test $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Refreshes the translation catalogue and compiles it (needs GNU gettext, only for translators).
messages: $(STAMP)
	$(PY) -m healthcenter.runtime run $(PY) manage.py makemessages -l da --no-obsolete --ignore=.venv --ignore=.local
	$(PY) -m healthcenter.runtime run $(PY) manage.py compilemessages -l da --ignore=.venv

# The demo and the largest profile side by side (bench/run.py says how; BENCH_QUICK=1 for a few minutes):
# prints a table and writes bench/RESULTS.md. locust comes with the bench extra, installed on first use.
bench: $(STAMP)
	$(PY) -c "import locust" 2>/dev/null || \
		$(PY) -m pip install --quiet --build-constraint build-constraints.txt -e ".[embedded,dev,bench]"
	$(PY) -m healthcenter.runtime run $(PY) bench/run.py

# Recomputes every stored indicator cell independently and compares; run after the demo's rollups.
verify-figures: $(STAMP)
	$(PY) -m healthcenter.runtime run $(PY) bench/verify_indicators.py

# Backs up the database (DATABASE_URL, else the embedded one) with pg_dump -Fc to backups/healthcenter-<time>.dump,
# readable by its owner only; BACKUP=<file> names the file. healthcenter/backups.py says which role connects.
backup: $(STAMP)
	$(PY) -m healthcenter.runtime run $(PY) manage.py backup_database $(if $(BACKUP),--output "$(BACKUP)")

# Restores BACKUP=<file> into the database, which must be empty (FORCE=1 replaces what the backup holds), or into
# RESTORE_DATABASE=<name> on the same server, created when missing. One transaction: all of it or nothing.
restore: $(STAMP)
	@test -n "$(BACKUP)" || { echo "Name the backup: make restore BACKUP=backups/healthcenter-<time>.dump"; exit 2; }
	$(PY) -m healthcenter.runtime run $(PY) manage.py restore_database "$(BACKUP)" \
		$(if $(RESTORE_DATABASE),--database-name "$(RESTORE_DATABASE)") $(if $(FORCE),--force)

# The fault-injection tests (also part of `make test`): PostgreSQL restarting under a running web process,
# backup and restore, two people saving the same record at once.
check-faults: $(STAMP)
	$(PY) -m healthcenter.runtime test -m faults $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .local staticfiles
