"""Export jobs: a file written by a worker for an admin or ML staff to download; expired after EXPORT_KEEP_DAYS."""
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from labeling.exports import rows
from labeling.exports import writers as exporters
from labeling.exports.step_labels import SOURCES
from labeling.formats.neutral import EXPORT_POLICIES
from labeling.jobs.background import RUN_EXPORT_JOB, finish, job_uuid, queue_on_commit, run_job
from labeling.models import AuditAction, ExportFormat, ExportJob, RunStatus
from labeling.people import audit
from labeling.people.label_sources import HUMAN

BY_SOURCE = {ExportFormat.STEP_LABELS: "steps", ExportFormat.PROCESSBENCH: "processbench", ExportFormat.TRL: "trl"}


def create_export_job(user, fmt: str = ExportFormat.PRM800K, generations=None, include_qc: bool = False,
                      neutral: str = "positive", gzip: bool = False, sources=None, project=None,
                      with_notes: bool = False) -> ExportJob:
    """`sources` (step-labels, processbench; trl: rows of those sources instead of people's passes):
    human and the automatic sources, labeling.exports.step_labels.SOURCES. The file holds one project's labels
    (`project`, a Project; the default one when not given)."""
    if fmt not in ExportFormat.values:
        raise ValueError(f"format must be one of {', '.join(ExportFormat.values)}")
    if neutral not in EXPORT_POLICIES:
        raise ValueError(f"neutral must be one of {', '.join(EXPORT_POLICIES)}")
    sources = list(dict.fromkeys(sources or ([HUMAN] if fmt in (ExportFormat.STEP_LABELS, ExportFormat.PROCESSBENCH)
                                             else [])))
    if sources and fmt not in BY_SOURCE:
        raise ValueError(f"sources apply to the formats {', '.join(BY_SOURCE)}")
    if unknown := [x for x in sources if x not in SOURCES]:
        raise ValueError(f"unknown source {unknown[0]!r}: one of {', '.join(SOURCES)}")
    options = {"generations": sorted(set(generations or [])), "include_qc": include_qc, "neutral": neutral,
               **({"sources": sources} if sources else {}), **({"error_types": True} if with_notes else {})}
    with transaction.atomic():
        job = ExportJob.objects.create(created_by=user, format=fmt, gzip=gzip, options=options,
                                       **({"project": project} if project is not None else {}))
        queue_on_commit(RUN_EXPORT_JOB, job)
    return job


def run_export_job(job_id) -> str:
    return run_job(ExportJob, job_uuid(job_id), _export)


def export_path(job: ExportJob) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / f"{job.id}.jsonl{'.gz' if job.gzip else ''}"


def _export(job: ExportJob) -> None:
    path = export_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    o = job.options
    qs = rows.passes_for_export(o.get("generations"), o.get("include_qc", False), project=job.project_id)
    if o.get("sources"):
        lines = exporters.step_label_lines(o["sources"], BY_SOURCE[job.format], include_qc=o.get("include_qc", False),
                                           neutral=o.get("neutral", "positive"), project=job.project_id)
    elif job.format == ExportFormat.TRL:
        lines = exporters.trl_lines(qs, o.get("neutral", "positive"))
    else:
        lines = exporters.prm800k_lines(qs, with_notes=bool(o.get("error_types")))
    n = exporters.write_export(str(path), lines)  # written beside and renamed: never half a file
    with transaction.atomic():
        if finish(job, RunStatus.SUCCEEDED, file_path=str(path), lines=n, size=path.stat().st_size):
            audit.record(job.created_by, AuditAction.EXPORT, job, format=job.format, gzip=job.gzip, lines=n, **o)


def expire_exports(now=None) -> int:
    """Delete export files older than EXPORT_KEEP_DAYS (their download then answers 410 Gone);
    the job rows stay as the record of what was exported, by whom and when."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EXPORT_KEEP_DAYS)
    removed = 0
    for job in ExportJob.objects.filter(status=RunStatus.SUCCEEDED, finished_at__lt=cutoff).exclude(file_path=""):
        Path(job.file_path).unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(file_path="")
        removed += 1
    return removed
