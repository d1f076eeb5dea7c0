"""A staticfiles finder serving BokehJS from the installed bokeh package, as `bokeh/*.min.js`.

Only the minified bundles: bokeh's whole static folder breaks `collectstatic` with
whitenoise's manifest storage (its `compiler.js` and a missing `bokeh.js.map`), and the
hashed names of these bundles bust caches when bokeh is upgraded.
"""
from pathlib import Path

import bokeh
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PREFIX = "bokeh"
BUNDLE_DIR = Path(bokeh.__file__).resolve().parent / "server" / "static" / "js"


class BokehFinder(BaseFinder):
    """Find `bokeh/<name>.min.js` in the installed bokeh package."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=str(BUNDLE_DIR))
        self.storage.prefix = PREFIX  # collectstatic copies to STATIC_ROOT/bokeh/

    def _names(self) -> list[str]:
        return sorted(p.name for p in BUNDLE_DIR.glob("*.min.js"))

    def check(self, **kwargs):
        """Return an error if the installed bokeh has no bundles."""
        from django.core.checks import Error

        if "bokeh.min.js" not in self._names():
            return [Error(f"BokehJS not found in {BUNDLE_DIR}", id="explain.E001")]
        return []

    def find(self, path: str, find_all: bool = False, **kwargs):
        """Return the absolute path of `bokeh/<name>.min.js` (a list if find_all)."""
        find_all = find_all or kwargs.get("all", False)
        prefix, _, name = path.partition("/")
        match = str(BUNDLE_DIR / name) if prefix == PREFIX and name in self._names() else None
        if find_all:
            return [match] if match else []
        return match or []

    def list(self, ignore_patterns):
        """Yield (relative path, storage) for each bundle."""
        for name in self._names():
            yield name, self.storage
