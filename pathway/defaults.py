"""Reference data every installation starts with: the four national levels of need and the Supporting
Families headline outcomes as outcome areas. Partnerships change them in the admin."""

DEFAULT_LEVELS = [
    ("1", "Universal", 1, 10),
    ("2", "Additional", 2, 20),
    ("3", "Multiple or complex", 3, 30),
    ("4", "Acute or statutory", 4, 40),
]

DEFAULT_OUTCOME_AREAS = [
    ("education", "Getting a good education"),
    ("early_years", "Good early years development"),
    ("health", "Improved mental and physical health"),
    ("substance_use", "Promoting recovery and reducing harm from substance use"),
    ("family_relationships", "Improved family relationships"),
    ("safety", "Children safe from abuse and exploitation"),
    ("crime", "Crime prevention and tackling crime"),
    ("domestic_abuse", "Safe from domestic abuse"),
    ("housing", "Secure housing"),
    ("financial_stability", "Financial stability"),
]


def ensure_reference_data(level_model, area_model) -> None:
    """Create any default level or outcome area that is missing (used by the migrations, and by the demo
    data after a test database has been flushed)."""
    for code, name, band, order in DEFAULT_LEVELS:
        level_model.objects.get_or_create(code=code, defaults={"name": name, "band": band, "order": order})
    for order, (code, name) in enumerate(DEFAULT_OUTCOME_AREAS, start=1):
        area_model.objects.get_or_create(code=code, defaults={"name": name, "order": order * 10})
