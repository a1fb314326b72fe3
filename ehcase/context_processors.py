from django.conf import settings

from .permissions import roles_for


def service(request):
    user = getattr(request, "user", None)
    return {
        "service_name": settings.SERVICE_NAME,
        "user_roles": roles_for(user) if user is not None else None,
    }
