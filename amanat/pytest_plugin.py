"""Loaded by pytest before Django starts (see pyproject's addopts): environment for test runs.

Tests run with an explicit throwaway key and no login lockout between the many logins of the
suite; the lockout itself is tested with throttling switched back on.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key")
os.environ.setdefault("SECURE_COOKIES", "false")
os.environ.setdefault("AMANAT_PLAIN_STATIC", "true")
os.environ.setdefault("LOGIN_THROTTLING", "false")
os.environ.setdefault("TASKS_IMMEDIATE", "true")
os.environ.setdefault("ALTCHA_MAX_NUMBER", "1000")  # the public page's proof of work, solved in tests
