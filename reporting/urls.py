from django.urls import path

from . import views, views_export

app_name = "reporting"

urlpatterns = [
    path("reporting/", views.dashboard, name="dashboard"),
    path("reporting/families/", views.drilldown, name="drilldown"),
    path("reporting/recalculate/", views.recalculate, name="recalculate"),
    path("reporting/export/<slug:table>.csv", views_export.csv_export, name="csv"),
    path("reporting/board-pack/", views_export.board_pack, name="board-pack"),
    path("reporting/board-pack.pdf", views_export.board_pack_pdf, name="board-pack-pdf"),
]
