from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from rest_framework.authtoken.models import Token

from .audit import audit_record
from .middleware import mark_session_refreshed
from .models import AuditAction


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs):
    audit_record(actor=user, action=AuditAction.LOGIN, summary="Signed in")
    if request is not None and hasattr(request, "session"):
        # Signing in saves the session, so its idle expiry starts now (ehcase.middleware).
        mark_session_refreshed(request.session)


@receiver(user_logged_out)
def _audit_logout(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=user, action=AuditAction.LOGOUT, summary="Signed out")


@receiver(user_login_failed)
def _audit_login_failed(sender, credentials, request=None, **kwargs):
    # The attempted username is kept (not the password) so that lockouts can be explained.
    audit_record(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        summary=f"Failed sign-in for {str(credentials.get('username', ''))[:100]}",
    )


# --- API tokens end with the password or the account -------------------------------------------------
# Django ends a user's sessions when their password changes (the session auth hash) or they are made
# inactive (ModelBackend refuses inactive users). DRF tokens have neither check, so they are deleted
# here: a token must not outlive the password that obtained it, or the account (docs/hardening.md).

_CREDENTIAL_FIELDS = {"password", "is_active"}


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def _note_credential_change(sender, instance, raw=False, update_fields=None, **kwargs):
    instance._end_api_tokens = False
    if raw or instance.pk is None:
        return
    if update_fields is not None and not _CREDENTIAL_FIELDS & set(update_fields):
        return  # for example the last_login update on every sign-in: no query
    before = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if before is None:
        return
    instance._end_api_tokens = before["password"] != instance.password or (
        before["is_active"] and not instance.is_active
    )


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def _end_api_tokens(sender, instance, created=False, raw=False, **kwargs):
    if getattr(instance, "_end_api_tokens", False):
        instance._end_api_tokens = False
        Token.objects.filter(user=instance).delete()
