"""Serves front-end libraries straight from the Python packages that ship them, so that
nothing is loaded from the internet and no third-party file is committed here."""

from pathlib import Path

import django_htmx
import plotly
import xstatic.pkg.bootstrap
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

# URL prefix under STATIC_URL -> folder inside an installed package.
VENDOR_DIRS = {
    "vendor/bootstrap": Path(xstatic.pkg.bootstrap.BASE_DIR),
    "vendor/plotly": Path(plotly.__file__).parent / "package_data",
    "vendor/htmx": Path(django_htmx.__file__).parent / "static" / "django_htmx",
}
# Only these files are published; the packages hold much more than the pages need.
VENDOR_FILES = {
    # The source maps are referenced from the minified files; the manifest storage insists on them.
    "vendor/bootstrap": [
        "css/bootstrap.min.css",
        "css/bootstrap.min.css.map",
        "js/bootstrap.bundle.min.js",
        "js/bootstrap.bundle.min.js.map",
    ],
    "vendor/plotly": ["plotly.min.js"],
    "vendor/htmx": ["htmx-2.min.js"],
}


class VendorFinder(BaseFinder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storages = {}
        for prefix, path in VENDOR_DIRS.items():
            storage = FileSystemStorage(location=str(path))
            storage.prefix = prefix  # collectstatic places the files under this prefix
            self.storages[prefix] = storage

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        matches = []
        for prefix, files in VENDOR_FILES.items():
            for name in files:
                if path == f"{prefix}/{name}":
                    full = str(VENDOR_DIRS[prefix] / name)
                    if not find_all:
                        return full
                    matches.append(full)
        return matches

    def list(self, ignore_patterns):
        for prefix, files in VENDOR_FILES.items():
            for name in files:
                yield name, self.storages[prefix]
