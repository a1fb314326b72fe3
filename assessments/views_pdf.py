"""PDF downloads: the full assessment with the plan for professionals, and the family's own copy of the
plan. Both are open to everyone who may see the family (404 for anyone else), audited as exports, and
rendered in the request: docs/pdfs.md has the timings that justify it."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from ehcase.audit import audit_record
from ehcase.models import AuditAction
from pathway.permissions import episode_for_user

from .models import AssessmentVersion
from .pdf import RenderedPdf, assessment_pdf_context, family_plan_pdf_context, pdf_render
from .permissions import assessment_for_user


def _download(rendered: RenderedPdf, *, filename: str) -> HttpResponse:
    response = HttpResponse(rendered.content, content_type="application/pdf")
    # The family's reference, never its name: file names end up in download folders and mail subjects.
    safe = re.sub(r"[^A-Za-z0-9._-]", "-", filename)
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    patch_cache_control(response, no_store=True, private=True)
    return response


@login_required
@require_GET
def assessment_pdf(request: HttpRequest, assessment_id: int) -> HttpResponse:
    """The Early Help Assessment with consent and the family plan, for the professionals working with the
    family. `?version=N` prints a kept version (what the assessment said when completed the Nth time)."""
    assessment = assessment_for_user(user=request.user, assessment_id=assessment_id)
    version = None
    if "version" in request.GET:
        try:
            number = int(request.GET["version"])
        except ValueError:
            raise Http404 from None
        version = (
            AssessmentVersion.objects.filter(assessment=assessment, number=number)
            .select_related("template", "completed_by", "decided_by")
            .first()
        )
        if version is None:
            raise Http404
    rendered = pdf_render(
        template_name="assessments/pdf/assessment.html",
        context=assessment_pdf_context(assessment=assessment, version=version),
    )
    family = assessment.episode.family
    audit_record(
        actor=request.user,
        action=AuditAction.EXPORT,
        obj=assessment,
        family_id=family.pk,
        summary="Early help assessment PDF downloaded",
        changes={"version": version.number if version else None, "pages": rendered.pages},
    )
    suffix = f"-version-{version.number}" if version else ""
    return _download(rendered, filename=f"early-help-assessment-{family.reference}{suffix}.pdf")


@login_required
@require_GET
def family_plan_pdf(request: HttpRequest, episode_id: int) -> HttpResponse:
    """The family plan in plain language and large type, to give to the family."""
    episode = episode_for_user(user=request.user, episode_id=episode_id)
    rendered = pdf_render(
        template_name="assessments/pdf/family_plan.html", context=family_plan_pdf_context(episode=episode)
    )
    audit_record(
        actor=request.user,
        action=AuditAction.EXPORT,
        obj=episode,
        family_id=episode.family_id,
        summary="Family plan PDF downloaded",
        changes={"pages": rendered.pages},
    )
    return _download(rendered, filename=f"family-plan-{episode.family.reference}.pdf")
