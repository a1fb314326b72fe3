"""Who may see and act on requests for support.

- The referrer sees their own requests (drafts included) and the decision on each, and nothing
  more of the family's record unless they work with the family.
- Coordinators of the request's hub see and decide it (the queue); partnership-wide roles read.
- Everyone else gets 404.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from ehcase.models import User
from ehcase.permissions import roles_for

from .models import Hub, HubMeeting, RequestForSupport, RequestStatus


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


# --- The hub's pages: coordinators act, partnership-wide roles read, everyone else 404 ----------


def hub_for_reader(user: User, hub_id: int | str) -> tuple[Hub, bool]:
    """The hub and whether the user coordinates it. Coordinators of the hub and partnership-wide
    roles read it; anyone else gets 404, whatever the reason."""
    roles = roles_for(user)
    try:
        hub_id = int(hub_id)
    except (TypeError, ValueError):
        raise Http404 from None
    coordinates = hub_id in roles.coordinated_hub_ids
    if not (coordinates or roles.partnership_wide):
        raise Http404
    hub = Hub.objects.filter(pk=hub_id).first()
    if hub is None:
        raise Http404
    return hub, coordinates


def hub_for_coordinator(user: User, hub_id: int | str) -> Hub:
    hub, coordinates = hub_for_reader(user, hub_id)
    if not coordinates:
        raise PermissionDenied("Only the hub's coordinators can do this")
    return hub


def request_for_hub(user: User, request_id: int | str) -> tuple[RequestForSupport, bool]:
    """A sent request as the hub sees it, and whether the user may decide it (a coordinator of its
    hub). Partnership-wide roles read; the referrer and everyone else get 404 on the hub's pages."""
    request = request_for_user(user=user, request_id=request_id)
    if request.status == RequestStatus.DRAFT:
        raise Http404
    decides = can_decide(user=user, request=request)
    if not (decides or roles_for(user).partnership_wide):
        raise Http404
    return request, decides


def meeting_for_hub(user: User, meeting_id: int | str) -> tuple[HubMeeting, bool]:
    """A hub meeting (with its hub) and whether the user coordinates the hub; readers of the hub only,
    anyone else gets 404."""
    try:
        meeting_id = int(meeting_id)
    except (TypeError, ValueError):
        raise Http404 from None
    meeting = HubMeeting.objects.select_related("hub").filter(pk=meeting_id).first()
    if meeting is None:
        raise Http404
    roles = roles_for(user)
    coordinates = meeting.hub_id in roles.coordinated_hub_ids
    if not (coordinates or roles.partnership_wide):
        raise Http404
    return meeting, coordinates
