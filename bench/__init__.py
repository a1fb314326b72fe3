"""Benchmarks at the tiers of DESIGN.md §9 (``make bench``).

Each tier lives in a database of its own (bench.tiers), built once with ``seed_demo`` and the audit
trail the large-tier generator does not write (bench.audit_rows), then reused. Results go to
bench/results/, which is not kept in version control.
"""
