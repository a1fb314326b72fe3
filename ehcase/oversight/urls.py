from django.urls import path

from . import views

app_name = "oversight"
urlpatterns = [
    path("emergency-access/", views.break_glass_list, name="break-glass-list"),
    path("emergency-access/new/", views.break_glass_new, name="break-glass-new"),
    path("emergency-access/<int:access_id>/end/", views.break_glass_end, name="break-glass-end"),
    path("emergency-access/<int:access_id>/", views.break_glass_review, name="break-glass-review"),
    path("audit/", views.audit_search, name="audit-search"),
    path("audit/export.csv", views.audit_export, name="audit-export"),
    path("access-alerts/", views.alert_list, name="alert-list"),
    path("access-alerts/<int:alert_id>/", views.alert_review, name="alert-review"),
]
