"""Permission-matrix rows for hardening (search without personal data in the address, API throttling)."""

from __future__ import annotations

from tests.matrix_support import _row

# (route name, url kwargs function of the personas, method, form data, expected statuses)
ROWS: list = [
    # The family search POSTs (an empty search goes back to the list); the results are a GET of
    # ehcase:family-list with ?search=<token>, covered by its own row.
    ("ehcase:family-list", None, "post", {}, _row(admin=404, anon=302, others=302)),
    # The API's search takes a JSON body; an empty one lists what the caller may see.
    ("api:family-search", None, "post", {}, _row(anon=401, others=200)),
]
