"""Browser tests: the fixtures live in tests/fixtures/browser.py (one browser per session)."""
