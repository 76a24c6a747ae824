"""The 50-user load test of `make bench`: professionals, coordinators and a few managers working at once
against gunicorn, run headless by bench/run.py.

Everyone signs in once before the run: bench/harness.py `sessions` writes a signed-in session per person
(BENCH_SESSIONS names the file), so that fifty password hashes at the start do not count as load. Each
simulated user is a different person with their own citizens, as in a real centre.

BENCH_THINK is the pause between one user's requests: "0" (no think time: throughput) or "LOW-HIGH" in
seconds, drawn uniformly. Requests go to gunicorn over plain HTTP with X-Forwarded-Proto: https, what the
centre's TLS proxy sends (the server runs with TRUST_X_FORWARDED_PROTO, secure cookies and HTTPS redirects
on, as in production). A page that answers anything but its expected status counts as a failure, and
bench/run.py stops on any failure."""

import datetime
import itertools
import json
import os
import random
from collections import defaultdict
from zoneinfo import ZoneInfo

from locust import between, constant, events, task
from locust.contrib.fasthttp import FastHttpUser

SESSIONS = json.loads(open(os.environ["BENCH_SESSIONS"], encoding="utf-8").read())  # noqa: SIM115
CENTRE_ZONE = ZoneInfo("Europe/Copenhagen")
_next = {role: itertools.count() for role in ("professional", "coordinator", "manager")}
# Every response time once all users have started, by request name, written to BENCH_SAMPLES at the end:
# exact percentiles (locust's own round to two significant digits) and the reads' percentiles together.
SAMPLES = defaultdict(list)


@events.spawning_complete.add_listener
def measure_from_now(**_kwargs):
    SAMPLES.clear()


@events.request.add_listener
def sample(name, response_time, exception=None, **_kwargs):
    if exception is None:
        SAMPLES[name].append(response_time)


@events.quitting.add_listener
def write_samples(**_kwargs):
    if os.environ.get("BENCH_SAMPLES"):
        with open(os.environ["BENCH_SAMPLES"], "w", encoding="utf-8") as out:
            json.dump(SAMPLES, out)


def think_time():
    low, _dash, high = os.environ.get("BENCH_THINK", "0").partition("-")
    if not high:
        return constant(float(low))
    return between(float(low), float(high))


class Person(FastHttpUser):
    abstract = True
    role = ""
    wait_time = think_time()
    # Redirects are answers to check, not to follow: a lost session shows as a 302 to the sign-in page.
    max_redirects = 0

    def on_start(self):
        people = SESSIONS[self.role]
        self.person = people[next(_next[self.role]) % len(people)]
        self.origin = self.host.replace("http://", "https://", 1)
        self.base_headers = {
            "Cookie": f"sessionid={self.person['sessionid']}; csrftoken={self.person['csrftoken']}",
            "X-Forwarded-Proto": "https",
        }

    def page(self, name, url, *, expect=200, htmx=False):
        headers = {**self.base_headers, **({"HX-Request": "true"} if htmx else {})}
        with self.client.get(url, name=name, headers=headers, catch_response=True, allow_redirects=False) as r:
            self.check(r, expect)

    def post(self, name, url, data, *, expect=200, htmx=False):
        headers = {
            **self.base_headers,
            "X-CSRFToken": self.person["csrftoken"],
            "Origin": self.origin,
            "Referer": f"{self.origin}{url}",
            **({"HX-Request": "true"} if htmx else {}),
        }
        with self.client.post(
            url, data=data, name=name, headers=headers, catch_response=True, allow_redirects=False
        ) as r:
            self.check(r, expect)

    @staticmethod
    def check(response, expect):
        if response.status_code != expect:
            where = (response.headers or {}).get("Location", "")
            response.failure(f"HTTP {response.status_code} (expected {expect}) {where} {response.error or ''}".strip())
        else:
            response.success()

    def citizen(self):
        return random.choice(self.person["citizens"])  # noqa: S311  # not security


class Professional(Person):
    role = "professional"
    weight = 40

    @task(12)
    def worklist_mine(self):
        self.page("worklist, my citizens", "/worklist/")

    @task(4)
    def worklist_team(self):
        self.page("worklist, my teams", "/worklist/?scope=team")

    @task(8)
    def my_tasks(self):
        self.page("my tasks", "/tasks/")

    @task(4)
    def board(self):
        self.page("team board", "/tasks/board/")

    @task(4)
    def patient_list(self):
        self.page("patient list", "/patients/")

    @task(4)
    def search_name(self):
        self.post("search by name (htmx)", "/patients/", {"term": random.choice(self.person["names"])}, htmx=True)  # noqa: S311

    @task(2)
    def search_cpr(self):
        self.post("search by CPR prefix (htmx)", "/patients/", {"term": random.choice(self.person["cprs"])}, htmx=True)  # noqa: S311

    @task(25)
    def patient_page(self):
        citizen = self.citizen()
        self.page("patient page", f"/patients/{citizen}/")
        # the browser asks for the coordination panel as soon as the page has loaded (hx-trigger="load")
        self.page("coordination panel (htmx)", f"/patients/{citizen}/coordination/", htmx=True)

    @task(15)
    def briefing(self):
        self.page("briefing", f"/patients/{self.citizen()}/briefing/")

    @task(8)
    def news_badge(self):
        # htmx polls it once a minute on every open page
        self.page("news badge (htmx)", "/news/badge/", htmx=True)

    @task(5)
    def encounter_save(self):
        started = datetime.datetime.now(CENTRE_ZONE) - datetime.timedelta(hours=2)
        form = {
            "kind": "individual",
            "started_at": started.strftime("%Y-%m-%dT%H:%M"),
            "duration_minutes": "30",
            "what_matters": "At kunne gå tur med hunden.",
            "note": "Opfølgning. Borger har det godt.",
            "agreed_actions": "Gåtur hver dag\n",
            "action-0-text": "Gåtur hver dag",
            "m_hba1c": "57",
            "m_weight": "82.5",
            "sign": "1",
        }
        self.post("encounter save (POST)", f"/patients/{self.citizen()}/encounters/new/", form, expect=302)


class Coordinator(Person):
    role = "coordinator"
    weight = 7

    @task(8)
    def board(self):
        self.page("team board (coordinator)", "/tasks/board/")

    @task(6)
    def workload(self):
        self.page("workload (coordinator)", "/tasks/workload/")

    @task(6)
    def worklist_team(self):
        self.page("worklist, my teams (coordinator)", "/worklist/?scope=team")

    @task(5)
    def patient_page(self):
        citizen = self.citizen()
        self.page("patient page (coordinator)", f"/patients/{citizen}/")
        self.page("coordination panel (htmx)", f"/patients/{citizen}/coordination/", htmx=True)

    @task(3)
    def news_badge(self):
        self.page("news badge (htmx)", "/news/badge/", htmx=True)


class Manager(Person):
    role = "manager"
    weight = 3

    @task(7)
    def dashboard(self):
        self.page("quality dashboard (manager)", "/reporting/")

    @task(2)
    def export_csv(self):
        self.page("export CSV (manager)", "/reporting/export.csv")

    @task(1)
    def export_xlsx(self):
        self.page("export XLSX (manager)", "/reporting/export.xlsx")
