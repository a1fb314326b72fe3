from django.http import JsonResponse
from django.shortcuts import render


def not_found(request, exception=None):
    # An address under /api/ that matches no route answers as the API does (JSON), not with the page.
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return render(request, "errors/404.html", status=404)


def forbidden(request, exception=None):
    return render(request, "errors/403.html", {"reason": str(exception or "")}, status=403)


def server_error(request):
    return render(request, "errors/500.html", status=500)
