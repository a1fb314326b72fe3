"""Permission-matrix rows for two-factor authentication (docs/two-factor.md).

In the matrix every persona is signed in with force_login, which tests/conftest.py makes pass the second
step too: the code, set-up and recovery code pages send a verified user on (302), and everyone may see
and replace their own recovery codes. What an unverified session gets on every route is in
tests/test_two_factor.py."""

from __future__ import annotations

from tests.matrix_support import _row

# (route name, url kwargs function of the personas, method, form data, expected statuses)
ROWS: list = [
    ("two_factor:verify", None, "get", None, _row(others=302)),
    ("two_factor:verify", None, "post", {}, _row(others=302)),
    ("two_factor:setup", None, "get", None, _row(others=302)),
    ("two_factor:setup", None, "post", {}, _row(others=302)),
    ("two_factor:recovery", None, "get", None, _row(others=302)),
    ("two_factor:recovery", None, "post", {}, _row(others=302)),
    ("two_factor:recovery-codes", None, "get", None, _row(anon=302, others=200)),
    ("two_factor:recovery-codes", None, "post", {}, _row(anon=302, others=200)),
]
