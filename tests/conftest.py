"""Shared fixtures live in plugin modules, one per area, so that each area owns its own file.

The servers the tests need are the machine's own PostgreSQL and Redis on loopback unless TEST_POSTGRES_URL /
TEST_REDIS_URL say otherwise: a test whose server is missing fails, it does not skip."""
import os

os.environ.setdefault("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
os.environ.setdefault("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# No hourly rule evaluation inside the tests' apps: every create_app started one, and a run whose suite crossed
# an hour boundary had it evaluate the rules and write the month's report into the shared test app database
# mid-suite (a report test then found it already made, and the exchange pages waited behind it). Tests of the
# schedule set it themselves.
os.environ.setdefault("ALERTS_SCHEDULE_MINUTES", "0")

pytest_plugins = [
    "tests.fixtures_mart",      # tiny demo mart, hand-made fixture mart
    "tests.fixtures_web",       # app, logged-in clients, live server, headless Chromium
]
