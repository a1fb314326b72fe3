"""PDF downloads: the full assessment with the plan for professionals, and the family's own copy of the
plan. Both are open to everyone who may see the family (404 for anyone else) and audited as exports when
downloaded. The assessment (up to 30 pages) is rendered by a Celery worker, with a "Preparing your PDF"
page in between; the family plan (a few pages) is rendered in the request. docs/pdfs.md says why."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from ehcase.audit import audit_record, audit_view_family
from ehcase.models import AuditAction
from pathway.permissions import episode_for_user

from . import services
from .models import AssessmentPdfJob, AssessmentVersion, PdfJobStatus
from .pdf import RenderedPdf, family_plan_pdf_context, pdf_render
from .permissions import assessment_for_user, pdf_job_for_user


def _download(rendered: RenderedPdf, *, filename: str) -> HttpResponse:
    response = HttpResponse(rendered.content, content_type="application/pdf")
    # The family's reference, never its name: file names end up in download folders and mail subjects.
    safe = re.sub(r"[^A-Za-z0-9._-]", "-", filename)
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    patch_cache_control(response, no_store=True, private=True)
    return response


@login_required
@require_POST
def assessment_pdf(request: HttpRequest, assessment_id: int) -> HttpResponse:
    """Ask for the Early Help Assessment with consent and the family plan, for the professionals working
    with the family: `version=N` (in the form or the query string) for a kept version (what the
    assessment said when completed the Nth time). The PDF is rendered by a Celery worker: this creates
    (or reuses) the user's job and sends them to its page."""
    assessment = assessment_for_user(user=request.user, assessment_id=assessment_id)
    version = None
    raw = request.POST.get("version") or request.GET.get("version")
    if raw:
        try:
            number = int(raw)
        except ValueError:
            raise Http404 from None
        version = AssessmentVersion.objects.filter(assessment=assessment, number=number).first()
        if version is None:
            raise Http404
    job = services.assessment_pdf_request(actor=request.user, assessment=assessment, version=version)
    return redirect("assessments:pdf-job", job_id=job.pk)


def _job_state(job: AssessmentPdfJob) -> str:
    if job.status == PdfJobStatus.QUEUED and services.pdf_job_is_stale(job):
        return PdfJobStatus.FAILED
    return job.status


@login_required
@require_GET
def pdf_job(request: HttpRequest, job_id: int) -> HttpResponse:
    """The job's page, for the user who asked for it: "Preparing your PDF" while it is being prepared,
    asking again every two seconds (htmx, which swaps in the status part alone), with a "check again"
    link for browsers without JavaScript. When ready it links to the download; when failed it says so
    and offers to try again."""
    job = pdf_job_for_user(user=request.user, job_id=job_id)
    family = job.assessment.episode.family
    context = {"job": job, "state": _job_state(job), "assessment": job.assessment, "family": family}
    if request.headers.get("HX-Request") == "true":
        response = render(request, "assessments/_pdf_job_status.html", context)
    else:
        audit_view_family(actor=request.user, family_id=family.pk, what="Early help assessment PDF")
        response = render(request, "assessments/pdf_job.html", context)
    # The same address answers with the whole page or, for htmx, the status part alone.
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_GET
def pdf_job_download(request: HttpRequest, job_id: int) -> HttpResponse:
    """The rendered PDF of a ready job, audited as an export when it is downloaded."""
    job = pdf_job_for_user(user=request.user, job_id=job_id)
    if job.status != PdfJobStatus.READY:
        return redirect("assessments:pdf-job", job_id=job.pk)
    try:
        content = services.pdf_job_download(actor=request.user, job=job)
    except AssessmentPdfJob.DoesNotExist:
        raise Http404 from None
    suffix = f"-version-{job.version.number}" if job.version else ""
    family = job.assessment.episode.family
    return _download(
        RenderedPdf(content=content, pages=job.pages or 0),
        filename=f"early-help-assessment-{family.reference}{suffix}.pdf",
    )


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
