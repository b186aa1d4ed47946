"""Import and export jobs: requests and status resources. The server-side file path is never a field."""
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.serializers.projects import project_in
from labeling.exports.step_labels import SOURCES
from labeling.formats.neutral import EXPORT_POLICIES
from labeling.models import ExportFormat, ExportJob, ImportFormat, ImportJob


class ImportIn(serializers.Serializer):
    project = project_in()
    segmentation = serializers.JSONField(required=False, help_text=(
        "How a record's `solution` text is cut into steps (Stepwise JSONL; a record's own `segmentation` wins): "
        '{"strategy": auto|newline|blank_line|numbered|markers|sentences, "markers": [...], "min_chars": N, '
        '"max_chars": N, "max_steps": N}. A JSON object (a form field: its JSON text).'))
    file = serializers.FileField(help_text="JSON Lines or a JSON array, plain or gzip, or Parquet (stepwise-critic).")
    format = serializers.ChoiceField(
        ImportFormat.choices, default=ImportFormat.AUTO,
        help_text="`auto` tells PRM800K labels and the solution formats apart from the first record.")
    enqueue = serializers.BooleanField(default=False, help_text="Put the file's solutions in the labelling queue "
                                                                "(in file order; those already queued are left).")


class ExportIn(serializers.Serializer):
    project = project_in()
    format = serializers.ChoiceField(ExportFormat.choices, default=ExportFormat.PRM800K)
    # 32-bit like the generation column: a larger number would fail the export job later, not this request
    generations = serializers.ListField(child=serializers.IntegerField(min_value=-2**31, max_value=2**31 - 1),
                                        required=False, default=list, max_length=1000,
                                        help_text="Only passes of these generations; empty: all.")
    include_qc = serializers.BooleanField(default=False, help_text="Include quality-control and screening passes.")
    neutral = serializers.ChoiceField(
        EXPORT_POLICIES, default="positive",
        help_text="TRL only: neutral (0) steps count as positive, negative, or end the row (drop).")
    gzip = serializers.BooleanField(default=False)
    error_types = serializers.BooleanField(default=False, help_text="prm800k: each -1 step also carries its "
                                           "error_type and rationale (extra keys; off: the file is PRM800K's).")
    sources = serializers.ListField(
        child=serializers.ChoiceField(SOURCES), required=False, default=list, max_length=len(SOURCES),
        help_text="step-labels and processbench (default [\"human\"]), or trl from these sources instead of "
                  "people's passes: human, an automatic source (each solution's newest labels) or consensus.")


class FailureOut(serializers.Serializer):
    message = serializers.CharField()
    file = serializers.CharField(allow_null=True, help_text="The file as uploaded.")
    line = serializers.IntegerField(allow_null=True, help_text="Line (or record) number.")
    field = serializers.CharField(allow_null=True, help_text="Dotted path inside the record.")


class _JobOut(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    failure = serializers.SerializerMethodField(help_text="Why the job failed; null unless status is failed.")
    url = serializers.SerializerMethodField()
    url_name = ""
    common = ("id", "url", "project", "status", "created_by", "created_at", "started_at", "finished_at", "attempts",
              "failure")

    @extend_schema_field(FailureOut(allow_null=True))
    def get_failure(self, job):
        if not job.error_message:
            return None
        return {"message": job.error_message, "file": job.error_file or None, "line": job.error_line,
                "field": job.error_field or None}

    def _url(self, name, job) -> str:
        path = reverse(name, args=[job.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def get_url(self, job) -> str:
        return self._url(self.url_name, job)


class ImportJobOut(_JobOut):
    url_name = "api-import"
    enqueue = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = (*_JobOut.common, "format", "original_filename", "size", "enqueue", "stats")
        read_only_fields = fields

    def get_enqueue(self, job) -> bool:
        return bool(job.options.get("enqueue"))


class ExportJobOut(_JobOut):
    url_name = "api-export"
    generations = serializers.SerializerMethodField(help_text="Empty: every generation.")
    include_qc = serializers.SerializerMethodField()
    neutral = serializers.SerializerMethodField()
    sources = serializers.SerializerMethodField(help_text="Empty: people's passes (prm800k, trl).")
    download = serializers.SerializerMethodField(help_text="Where to GET the file once the job has succeeded.")

    class Meta:
        model = ExportJob
        fields = (*_JobOut.common, "format", "generations", "include_qc", "neutral", "sources", "gzip", "lines",
                  "size", "download")
        read_only_fields = fields

    def get_generations(self, job) -> list[int]:
        return job.options.get("generations") or []

    def get_include_qc(self, job) -> bool:
        return bool(job.options.get("include_qc"))

    def get_neutral(self, job) -> str:
        return job.options.get("neutral", "positive")

    def get_sources(self, job) -> list[str]:
        return job.options.get("sources") or []

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download(self, job):
        return self._url("api-export-download", job) if job.status == "succeeded" else None
