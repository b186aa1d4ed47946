"""Bulk imports (admins) and exports (admins, ML staff) as background jobs with status resources."""
import json

from django.http import FileResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api import scoping
from api.exceptions import Conflict, Gone, PayloadTooLarge
from api.parsers import JSONParser
from api.schema import Error
from api.serializers import jobs as s
from labeling.exports import downloads
from labeling.formats import segmentation
from labeling.formats.segmentation import SegmentationError
from labeling.imports import uploads
from labeling.models import ExportJob, ImportJob, RunStatus
from labeling.people import roles

MULTIPART_SLACK = 1024 * 1024  # form fields and boundaries around the file


def _accepted(request, job, serializer_class, url_name) -> Response:
    out = serializer_class(job, context={"request": request}).data
    return Response(out, status=status.HTTP_202_ACCEPTED, headers={"Location": reverse(url_name, args=[job.pk])})


class ImportList(scoping.ProjectScoped, generics.ListAPIView):
    """Import jobs of your projects, newest first."""

    project_perm = roles.IMPORT
    filter_backends = [scoping.ProjectFilter]
    serializer_class = s.ImportJobOut
    queryset = ImportJob.objects.select_related("created_by", "project").order_by("-created_at", "-id")
    parser_classes = [MultiPartParser]

    @extend_schema(request={"multipart/form-data": s.ImportIn},
                   responses={202: s.ImportJobOut, 404: scoping.NOT_YOURS, 413: Error},
                   summary="Upload a file to import in the background (all or nothing)")
    def post(self, request):
        # Refuse before the body is parsed and spooled to disk, when the client says how big it is.
        length = str(request.META.get("CONTENT_LENGTH") or "")
        if length.isdigit() and int(length) > uploads.max_upload_bytes() + MULTIPART_SLACK:
            raise PayloadTooLarge({"file": uploads.upload_limit_message()})
        data = s.ImportIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        project = scoping.target(request, roles.IMPORT, d.get("project"))
        segment_by = None
        if d.get("segmentation") not in (None, "", {}):
            options = d["segmentation"]
            try:
                options = json.loads(options) if isinstance(options, str) else options
                if not isinstance(options, dict):
                    raise ValidationError({"segmentation": "must be a JSON object of segmentation options"})
                segment_by = segmentation.from_options(options)
            except json.JSONDecodeError as exc:
                raise ValidationError({"segmentation": f"is not JSON: {exc.msg}"}) from None
            except SegmentationError as exc:
                raise ValidationError({f"segmentation.{exc.field}": exc.message}) from None
            except TypeError as exc:
                raise ValidationError({"segmentation": str(exc)}) from None
        try:
            job = uploads.create_import_job(request.user, d["file"], d["format"], enqueue=d["enqueue"],
                                            project=project, segment_by=segment_by)
        except uploads.UploadTooLarge as exc:
            raise PayloadTooLarge({"file": str(exc)}) from None
        return _accepted(request, job, s.ImportJobOut, "api-import")


class ImportDetail(scoping.ProjectScoped, generics.RetrieveAPIView):
    project_perm = roles.IMPORT
    serializer_class = s.ImportJobOut
    queryset = ImportList.queryset


class ExportList(scoping.ProjectScoped, generics.ListAPIView):
    """Export jobs of your projects, newest first."""

    project_perm = roles.EXPORT
    filter_backends = [scoping.ProjectFilter]
    serializer_class = s.ExportJobOut
    queryset = ExportJob.objects.select_related("created_by", "project").order_by("-created_at", "-id")
    parser_classes = [JSONParser]

    @extend_schema(request=s.ExportIn, responses={202: s.ExportJobOut, 404: scoping.NOT_YOURS},
                   summary="Export labelled passes in the background")
    def post(self, request):
        data = s.ExportIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        project = scoping.target(request, roles.EXPORT, d.get("project"))
        try:
            job = downloads.create_export_job(request.user, d["format"], d["generations"], d["include_qc"],
                                              d["neutral"], d["gzip"], d["sources"], project=project,
                                              with_notes=d["error_types"])
        except ValueError as exc:
            raise ValidationError({"sources": [str(exc)]}) from None
        return _accepted(request, job, s.ExportJobOut, "api-export")


class ExportDetail(scoping.ProjectScoped, generics.RetrieveAPIView):
    project_perm = roles.EXPORT
    serializer_class = s.ExportJobOut
    queryset = ExportList.queryset


class _AnyAccept(BaseContentNegotiation):
    """A file download answers whatever the client accepts; errors are JSON regardless."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportDownload(APIView):
    permission_classes = [scoping.in_project(roles.EXPORT)]
    content_negotiation_class = _AnyAccept

    @extend_schema(responses={(200, "application/jsonl"): OpenApiTypes.BINARY,
                              (200, "application/gzip"): OpenApiTypes.BINARY,
                              409: Error, 410: Error},
                   summary="The exported file, once the job has succeeded")
    def get(self, request, pk):
        job = scoping.get_scoped(ExportJob.objects.all(), request, roles.EXPORT, pk=pk)
        if job.status != RunStatus.SUCCEEDED:
            why = f": {job.error_message}" if job.status == RunStatus.FAILED else "; poll the job and try again"
            raise Conflict({"status": f"the export is {job.status}, there is nothing to download{why}"})
        try:
            f = open(job.file_path, "rb")  # FileResponse closes it
        except FileNotFoundError:
            raise Gone({"status": "the export file is no longer on the server; start a new export"}) from None
        name = f"stepwise-export-{timezone.localdate(job.created_at):%Y-%m-%d}.jsonl{'.gz' if job.gzip else ''}"
        return FileResponse(f, as_attachment=True, filename=name,
                            content_type="application/gzip" if job.gzip else "application/jsonl")
