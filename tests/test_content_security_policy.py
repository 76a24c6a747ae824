"""The Content-Security-Policy on every page, and templates that need nothing the policy forbids: no inline
script or event handler, no javascript: URL, no hx-on (htmx would evaluate it), no style attribute.

The policy's effect in a real browser is tests/browser/test_csp.py."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from healthcenter.content_security import EMPTY_STYLE_HASH, plotly_js, plotly_style_hashes, style_hash

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]


def policy(response) -> dict[str, list[str]]:
    directives = (part.split() for part in response["Content-Security-Policy"].split(";") if part.strip())
    return {name: sources for name, *sources in directives}


@pytest.mark.django_db
def test_a_citizen_s_page_carries_the_strict_policy(as_member, patient):
    response = as_member.get(reverse("patients:detail", args=[patient.public_id]))

    assert response.status_code == 200
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["img-src"] == ["'self'", "data:"]
    # Styles: our files and the two <style> elements plotly.js writes, by hash; no 'unsafe-inline'.
    assert directives["style-src"] == ["'self'", *plotly_style_hashes()]
    assert not any("unsafe" in source for sources in directives.values() for source in sources)


@pytest.mark.django_db
def test_the_login_page_carries_the_policy_too():
    response = Client().get(reverse(settings.LOGIN_URL))

    assert policy(response)["script-src"] == ["'self'"]


def test_the_hash_of_an_empty_style_is_the_one_allowed():
    assert style_hash("") == EMPTY_STYLE_HASH


def test_the_installed_plotly_js_has_the_map_style_the_policy_allows():
    """If a plotly upgrade writes its map CSS differently, the hash is no longer found: see
    healthcenter/content_security.py."""
    hashes = plotly_style_hashes()

    assert len(hashes) == 2
    assert hashes[1] != EMPTY_STYLE_HASH
    assert ".maplibregl-map{" in plotly_js().read_text(encoding="utf-8")


def templates() -> list[Path]:
    return [path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html")]


# What the policy refuses: inline scripts (a <script> without src, except JSON data blocks), inline event
# handlers, javascript: URLs, hx-on (htmx evaluates it), and style attributes.
FORBIDDEN = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=[\"']application/(ld\+)?json)[^>]*>", re.I),
    "event handler": re.compile(r"<[^>]*\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "hx-on": re.compile(r"\shx-on[:-]", re.I),
    "style attribute": re.compile(r"<[^>]*\sstyle\s*=", re.I),
}


def test_no_template_needs_what_the_policy_refuses():
    offenders = [
        f"{path.relative_to(ROOT)}: {what}"
        for path in templates()
        for what, pattern in FORBIDDEN.items()
        if pattern.search(path.read_text(encoding="utf-8"))
    ]

    assert templates(), "no templates found"
    assert offenders == []


@pytest.mark.parametrize(
    ("what", "markup"),
    [
        ("inline script", "<script>alert(1)</script>"),
        ("event handler", '<button onclick="go()">'),
        ("javascript: URL", '<a href="javascript:go()">'),
        ("hx-on", '<button hx-on::after-request="this.remove()">'),
        ("style attribute", '<p class="x" style="color: red">'),
    ],
)
def test_the_template_scan_finds_each_kind(what, markup):
    assert FORBIDDEN[what].search(markup)


def test_the_template_scan_lets_script_files_through():
    assert not FORBIDDEN["inline script"].search('<script src="/static/js/charts.js" defer></script>')
