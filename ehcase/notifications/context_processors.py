from .selectors import unread_count


def notifications(request):
    """The header's unread count, computed only when a page renders it (one indexed count; no Redis)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    cached: list[int] = []

    def count() -> int:
        if not cached:
            cached.append(unread_count(user=user))
        return cached[0]

    return {"notification_unread_count": count}
