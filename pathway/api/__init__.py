"""The pathway's REST API (serializers and viewsets), routed by ehcase/api/urls.py on the same router
as the rest of the API and obeying the same rules (ehcase/api/views.py)."""
