"""FHIR R4 (read) over the centre's records (issue 12).

The installed package fhir.resources (used by the tests to validate what this app emits) lives in a
top-level package also named `fhir`, with an empty __init__. This package extends its path with every
other `fhir` directory on sys.path (pkgutil's namespace idiom), so that `fhir.resources` is found
there while `fhir.views`, `fhir.urls`... are this app's. No module here may be called `resources`."""

from pkgutil import extend_path

__path__ = extend_path(__path__, __name__)
