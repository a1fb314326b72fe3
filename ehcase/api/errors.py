from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """DRF's handler, with the same boring 404 for every object a user may not see."""
    if isinstance(exc, Http404):
        exc = Http404("Not found.")
    if isinstance(exc, PermissionDenied):
        from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied

        exc = DRFPermissionDenied()
    return drf_exception_handler(exc, context)
