"""Settings for the web process that tests/test_outage.py starts: the production settings (DEBUG
off), with static files served as they are, as conftest.py arranges for in-process tests, so that
no collectstatic is needed."""

from healthcenter.settings import *  # noqa: F403
from healthcenter.settings import STORAGES

STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
