from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views
from .accounts import LoginView
from .health import healthz
from .two_factor.api import ObtainAuthTokenWithCode

admin.site.site_header = "Early Help case management: users and configuration"
admin.site.site_title = "Early Help administration"

family_patterns = [
    path("", views.family_list, name="family-list"),
    path("new/", views.family_create, name="family-create"),
    path("<int:family_id>/", views.family_detail, name="family-detail"),
    path("<int:family_id>/edit/", views.family_edit, name="family-edit"),
    path("<int:family_id>/history/", views.family_history, name="family-history"),
    path("<int:family_id>/members/add/", views.member_add, name="member-add"),
    path("<int:family_id>/relationships/add/", views.relationship_add, name="relationship-add"),
    path("<int:family_id>/people/<int:person_id>/", views.person_detail, name="person-detail"),
    path("<int:family_id>/people/<int:person_id>/edit/", views.person_edit, name="person-edit"),
    path("<int:family_id>/people/<int:person_id>/left/", views.member_end, name="member-end"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("families/", include((family_patterns, "ehcase"))),
    path("", include("pathway.urls")),
    path("", include("assessments.urls")),
    path("", include("hubs.urls_referrals")),
    path("", include("hubs.urls_hub")),
    path("", include("ehcase.notifications.urls")),
    path("", include("ehcase.oversight.urls")),
    path("", include("ehcase.retention.urls")),
    path("", include("ehcase.disclosure.urls")),
    path("", include("reporting.urls")),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/two-factor/", include("ehcase.two_factor.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file (?script=): the CSP allows no inline script.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="ehcase/swagger_ui.html"),
        name="api-docs",
    ),
    path("api/token/", ObtainAuthTokenWithCode.as_view(), name="api-token"),
    path("api/", include("ehcase.api.urls")),
]

handler400 = "ehcase.security.bad_request"
handler404 = "ehcase.errors.not_found"
handler403 = "ehcase.errors.forbidden"
handler500 = "ehcase.errors.server_error"
