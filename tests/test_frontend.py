"""The product runs in closed networks: every script and style comes from our own server."""

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

ROOT = Path(__file__).resolve().parent.parent
EXTERNAL = re.compile(r"""(src|href)\s*=\s*["']\s*(https?:)?//""", re.IGNORECASE)


def test_no_template_loads_anything_from_another_host():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "templates").rglob("*.html")
        if EXTERNAL.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "path",
    [
        "vendor/bootstrap/css/bootstrap.min.css",
        "vendor/bootstrap/js/bootstrap.bundle.min.js",
        "vendor/plotly/plotly.min.js",
        "vendor/htmx/htmx-2.min.js",
        "js/charts.js",
        "css/app.css",
    ],
)
def test_front_end_libraries_come_from_installed_packages(path):
    found = finders.find(path)
    assert found is not None, path
    assert Path(found).stat().st_size > 0


@pytest.mark.django_db
def test_the_patient_page_references_only_local_assets(as_member, patient):
    body = as_member.get(reverse("patients:detail", args=[patient.public_id])).content.decode()
    assets = re.findall(r"""(?:src|href)="([^"]+\.(?:js|css))""", body)
    assert assets, "the page should load its scripts and styles"
    assert all(asset.startswith("/static/") for asset in assets), assets
