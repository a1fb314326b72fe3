from django.urls import path

from . import views

app_name = "disclosure"
urlpatterns = [
    path("families/<int:family_id>/sharing/", views.sharing_list, name="sharing-list"),
    path("families/<int:family_id>/sharing/new/", views.sharing_new, name="sharing-new"),
    path("sharing/<int:record_id>/in-error/", views.sharing_in_error, name="sharing-in-error"),
    path("subject-access/", views.sar_list, name="sar-list"),
    path("people/<int:person_id>/subject-access/new/", views.sar_new, name="sar-new"),
    path("subject-access/<int:request_id>/", views.sar_detail, name="sar-detail"),
    path("subject-access/<int:request_id>/release/", views.sar_release, name="sar-release"),
    path("subject-access/<int:request_id>/export.pdf", views.sar_pdf, name="sar-pdf"),
    path("subject-access/<int:request_id>/export.json", views.sar_json, name="sar-json"),
]
