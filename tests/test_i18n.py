"""The Danish catalogue: complete, compiled, and what a user sees. Danish is the default language;
English is chosen with the language cookie."""

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from .factories import PatientFactory

CATALOGUE = Path(settings.LOCALE_PATHS[0]) / "da" / "LC_MESSAGES"
PO_PATH = CATALOGUE / "django.po"
MO_PATH = CATALOGUE / "django.mo"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def live_entries(catalogue) -> list:
    return [entry for entry in catalogue if entry.msgid and not entry.obsolete]


def translations(catalogue) -> dict:
    """(context, msgid, msgid_plural) -> the translation, or the tuple of plural forms."""
    found = {}
    for entry in live_entries(catalogue):
        key = (entry.msgctxt, entry.msgid, entry.msgid_plural or None)
        if entry.msgid_plural:
            found[key] = tuple(text for _index, text in sorted((int(i), s) for i, s in entry.msgstr_plural.items()))
        else:
            found[key] = entry.msgstr
    return found


def heading(response) -> str:
    match = re.search(r"<h1[^>]*>\s*(.*?)\s*</h1>", response.content.decode(), re.S)
    assert match, "the page has no <h1>"
    return match.group(1)


@pytest.fixture(scope="module")
def po():
    return polib.pofile(str(PO_PATH))


class TestCatalogue:
    def test_it_declares_danish_with_two_plural_forms(self, po):
        assert po.metadata["Language"] == "da"
        assert "charset=UTF-8" in po.metadata["Content-Type"]
        assert po.metadata["Plural-Forms"].replace(" ", "") == "nplurals=2;plural=(n!=1);"
        assert not po.metadata_is_fuzzy

    def test_it_translates_every_message(self, po):
        entries = live_entries(po)
        assert len(entries) > 300, "the catalogue looks truncated"
        fuzzy = [entry.msgid for entry in entries if "fuzzy" in entry.flags]
        assert fuzzy == []
        untranslated = [
            entry.msgid
            for entry in entries
            if (entry.msgid_plural and (len(entry.msgstr_plural) != 2 or not all(entry.msgstr_plural.values())))
            or (not entry.msgid_plural and not entry.msgstr.strip())
        ]
        assert untranslated == []

    def test_it_keeps_every_placeholder(self, po):
        broken = []
        for entry in live_entries(po):
            wanted = set(PLACEHOLDER.findall(entry.msgid))
            forms = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
            if any(set(PLACEHOLDER.findall(text)) != wanted for text in forms):
                broken.append(entry.msgid)
        assert broken == []

    def test_it_ships_a_compiled_catalogue_that_matches_the_po_file(self, po):
        assert MO_PATH.exists(), "run: manage.py compilemessages -l da"
        compiled = translations(polib.mofile(str(MO_PATH)))
        assert compiled == translations(po), "the .mo is stale; run: manage.py compilemessages -l da"


@pytest.mark.django_db
class TestLanguage:
    def test_it_shows_the_login_page_in_danish_by_default(self, client):
        response = client.get("/accounts/login/")
        assert response.status_code == 200
        body = response.content.decode()
        assert '<html lang="da">' in body
        assert heading(response) == "Log ind"
        assert "Brugernavn" in body and "Adgangskode" in body
        assert "Username" not in body

    def test_it_shows_the_login_page_in_english_when_the_cookie_asks_for_it(self):
        client = Client()
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        response = client.get("/accounts/login/")
        assert response.status_code == 200
        body = response.content.decode()
        assert '<html lang="en">' in body
        assert heading(response) == "Log in"
        assert "Username" in body and "Password" in body
        assert "Brugernavn" not in body

    def test_it_shows_the_professionals_citizen_list_in_danish(self, as_member, patient, team):
        response = as_member.get(reverse("patients:list"))
        assert response.status_code == 200
        body = response.content.decode()
        assert heading(response) == "Borgere"
        assert "Opret borger" in body
        assert re.search(r"\b1 borger\b", body), "the singular form"
        assert "Register citizen" not in body and "Citizens" not in body

        PatientFactory(team=team)
        body = as_member.get(reverse("patients:list")).content.decode()
        assert re.search(r"\b2 borgere\b", body), "the plural form"

    def test_it_shows_the_citizen_list_in_english_when_the_cookie_asks_for_it(self, as_member, patient):
        as_member.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        response = as_member.get(reverse("patients:list"))
        assert heading(response) == "Citizens"
        assert re.search(r"\b1 citizen\b", response.content.decode())


def test_a_browser_asking_for_english_still_gets_danish(client):
    response = client.get("/accounts/login/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="da">' in response.content.decode()
