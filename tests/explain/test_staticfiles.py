"""BokehJS is served from the installed package through the staticfiles finder."""
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage

from explain.staticfiles import BokehFinder


def test_finder_exposes_only_the_minified_bundles():
    """bokeh/bokeh.min.js is found; the unminified bundle and compiler.js are not."""
    finder = BokehFinder()
    assert finder.find("bokeh/bokeh.min.js").endswith("bokeh.min.js")
    assert finder.find("bokeh/bokeh.js") == [] and finder.find("bokeh/compiler.js") == []
    listed = [path for path, _storage in finder.list([])]
    assert "bokeh.min.js" in listed and all(p.endswith(".min.js") for p in listed)
    assert finders.find("bokeh/bokeh.min.js")


def test_manifest_storage_hashes_the_bundle(tmp_path):
    """The manifest storage post-processes the bundle (no missing source maps)."""
    storage = ManifestStaticFilesStorage(location=tmp_path, base_url="/static/")
    finder = BokehFinder()
    with finder.storage.open("bokeh.min.js") as handle:
        storage.save("bokeh/bokeh.min.js", handle)
    results = list(storage.post_process({"bokeh/bokeh.min.js": (finder.storage, "bokeh.min.js")}))
    assert all(not isinstance(processed, Exception) for _name, _hashed, processed in results)
    assert storage.stored_name("bokeh/bokeh.min.js").startswith("bokeh/bokeh.min.")
