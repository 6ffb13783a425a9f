"""Shared fixtures live in plugin modules, one per area, so that each area owns its own file."""
pytest_plugins = [
    "tests.fixtures_mart",      # tiny demo mart, hand-made fixture mart
    "tests.fixtures_web",       # app, logged-in clients, live server, headless Chromium
]
