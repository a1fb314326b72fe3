"""Who may see and act on requests for support.

- The referrer sees their own requests (drafts included) and the decision on each, and nothing
  more of the family's record unless they work with the family.
- Coordinators of the request's hub see and decide it (the queue); partnership-wide roles read.
- Everyone else gets 404.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from ehcase.models import User
from ehcase.permissions import roles_for

from .models import RequestForSupport, RequestStatus


def requests_visible_to(*, user: User) -> QuerySet[RequestForSupport]:
    roles = roles_for(user)
    if not roles.works_with_families:
        return RequestForSupport.objects.none()
    own = Q(referrer=user)
    if roles.partnership_wide:
        return RequestForSupport.objects.filter(own | ~Q(status=RequestStatus.DRAFT))
    if roles.coordinated_hub_ids:
        return RequestForSupport.objects.filter(
            own | Q(hub_id__in=roles.coordinated_hub_ids) & ~Q(status=RequestStatus.DRAFT)
        )
    return RequestForSupport.objects.filter(own)


def request_for_user(*, user: User, request_id: int | str) -> RequestForSupport:
    try:
        request_id = int(request_id)
    except (TypeError, ValueError):
        raise Http404 from None
    request = (
        requests_visible_to(user=user)
        .select_related("family", "hub", "referrer")
        .filter(pk=request_id)
        .first()
    )
    if request is None:
        raise Http404
    return request


def can_decide(*, user: User, request: RequestForSupport) -> bool:
    return request.hub_id is not None and request.hub_id in roles_for(user).coordinated_hub_ids
