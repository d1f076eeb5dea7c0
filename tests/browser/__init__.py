"""Browser tests: a real Chromium against a live server."""
