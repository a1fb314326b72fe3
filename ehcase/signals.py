from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from .audit import audit_record
from .models import AuditAction


@receiver(user_logged_in)
def _audit_login(sender, request, user, **kwargs):
    audit_record(actor=user, action=AuditAction.LOGIN, summary="Signed in")


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
