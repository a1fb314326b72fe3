"""The default assessment form: the three domains of the Assessment Framework triangle, each with its
sub-areas. A partnership publishes its own version in the admin; assessments keep the version they used."""

DEFAULT_TEMPLATE_NAME = "Early Help Assessment"


def _areas(*pairs: tuple[str, str, str]) -> list[dict]:
    return [{"code": code, "title": title, "hint": hint} for code, title, hint in pairs]


DEFAULT_DOMAINS = [
    {
        "code": "child",
        "title": "Child's developmental needs",
        "hint": "How each child is growing and developing, and what they need.",
        "areas": _areas(
            (
                "health",
                "Health",
                "Physical and mental health, development, disability, access to health care.",
            ),
            ("education", "Education and learning", "Attendance, progress, special educational needs."),
            (
                "emotional",
                "Emotional and behavioural development",
                "Feelings, behaviour, how the child copes with change and stress.",
            ),
            ("identity", "Identity", "How the child sees themself, culture, faith, self-esteem."),
            ("relationships", "Family and social relationships", "Friendships, relationships with family."),
            ("self_care", "Self-care skills and social presentation", "Independence, appearance, hygiene."),
        ),
    },
    {
        "code": "parenting",
        "title": "Parenting capacity",
        "hint": "How parents and carers meet the children's needs.",
        "areas": _areas(
            ("basic_care", "Basic care", "Food, warmth, clothing, hygiene, health care."),
            ("safety", "Ensuring safety", "Protection from harm and danger, inside and outside the home."),
            ("warmth", "Emotional warmth", "Love, praise, encouragement, feeling valued."),
            ("stimulation", "Stimulation", "Play, learning, encouragement to explore."),
            ("boundaries", "Guidance and boundaries", "Routines, rules, managing behaviour."),
            ("stability", "Stability", "Consistent care, important relationships kept up."),
        ),
    },
    {
        "code": "family",
        "title": "Family and environmental factors",
        "hint": "The wider family, the home and the community around the children.",
        "areas": _areas(
            (
                "history",
                "Family history and functioning",
                "Who is in the family, changes, what affects them.",
            ),
            ("wider_family", "Wider family", "Support from relatives and friends."),
            ("housing", "Housing", "Whether the home is safe, suitable and secure."),
            ("employment_income", "Employment and income", "Work, benefits, debt, money worries."),
            ("community", "Social integration and community resources", "Local services, isolation."),
        ),
    },
]


def ensure_default_template(template_model) -> None:
    """Publish version 1 of the default form if there is no form at all (migrations, and the demo data
    after a test database has been flushed)."""
    if not template_model.objects.exists():
        template_model.objects.create(
            name=DEFAULT_TEMPLATE_NAME, version=1, domains=DEFAULT_DOMAINS, published=True
        )
