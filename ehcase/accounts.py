from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import resolve_url

from .forms import LoginForm
from .two_factor.paths import entry_url, safe_next


class LoginView(auth_views.LoginView):
    """The password step. Then the second step (docs/two-factor.md): the code page for someone with an
    authenticator app, the set-up page for someone without, carrying `next` as a local path."""

    form_class = LoginForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_success_url(self) -> str:
        target = safe_next(self.get_redirect_url(), default=resolve_url(settings.LOGIN_REDIRECT_URL))
        user = self.request.user
        # auth.login() puts the plain user on the request; OTPMiddleware's is_verified() is there only
        # when the user came in already signed in (redirect_authenticated_user).
        if getattr(user, "is_verified", lambda: False)():
            return target
        return entry_url(user, target)
