import django_filters
from django import forms
from django.db import models
from django.db.models import Exists, OuterRef
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from labeling.models import AuditAction, AuditEvent, AuditSource, FinishReason, LabeledPass, Problem, Solution

_TRUE, _FALSE = ("true", "1"), ("false", "0")


class StrictBooleanField(forms.Field):
    """`true`/`false` (or 1/0), `null` where the column may be empty; anything else is an error
    naming the parameter, where django-filter's own boolean field silently drops the filter."""

    def __init__(self, *args, nullable: bool = False, **kwargs):
        self.nullable = nullable
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if value in (None, ""):
            return None
        text = str(value).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        if self.nullable and text == "null":
            return "null"
        allowed = "true, false or null" if self.nullable else "true or false"
        raise forms.ValidationError(f"must be {allowed}, got \"{str(value)[:40]}\"")


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBooleanFilter(django_filters.Filter):
    field_class = StrictBooleanField

    def __init__(self, *args, nullable: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.extra["nullable"] = nullable

    def filter(self, qs, value):
        if value == "null":
            return qs.filter(**{f"{self.field_name}__isnull": True})
        return super().filter(qs, value)


class StrictFilterSet(django_filters.FilterSet):
    @classmethod
    def filter_for_lookup(cls, field, lookup_type):
        if isinstance(field, models.BooleanField) and lookup_type == "exact":
            return StrictBooleanFilter, {"nullable": field.null}
        return super().filter_for_lookup(field, lookup_type)


class ProblemFilter(StrictFilterSet):
    q = django_filters.CharFilter(field_name="text", lookup_expr="icontains", label="Text contains")

    class Meta:
        model = Problem
        fields = ["subject", "level", "source_id"]


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.Filter):
    field_class = forms.IntegerField


def _id_filter(field: str) -> IdFilter:
    # a plain id: a choice filter would answer 400 for an id that does not exist and 200 for another
    # project's, telling the two apart
    return IdFilter(field_name=f"{field}_id", label=f"The {field}'s id", min_value=1, max_value=2**63 - 1)


class SolutionFilter(StrictFilterSet):
    problem = _id_filter("problem")
    labeled = StrictBooleanFilter(method="filter_labeled", label="Has at least one labelled pass")

    class Meta:
        model = Solution
        fields = ["problem", "generation", "answer_is_correct", "is_quality_control", "is_screening", "generator"]

    def filter_labeled(self, qs, name, value):
        has = Exists(LabeledPass.objects.filter(solution=OuterRef("pk")))
        return qs.filter(has) if value else qs.exclude(has)


class PassFilter(StrictFilterSet):
    problem = _id_filter("problem")
    solution = _id_filter("solution")
    annotator = django_filters.UUIDFilter(field_name="annotator__uuid")
    finish_reason = django_filters.ChoiceFilter(choices=FinishReason.choices)
    submitted_after = django_filters.IsoDateTimeFilter(field_name="submitted_at", lookup_expr="gte")

    class Meta:
        model = LabeledPass
        fields = ["problem", "solution", "generation", "is_quality_control", "is_screening"]


class AuditFilter(StrictFilterSet):
    action = django_filters.MultipleChoiceFilter(choices=AuditAction.choices, help_text="Repeat for several.")
    actor = django_filters.CharFilter(field_name="actor_name", help_text="Username as it was then (or os:NAME, "
                                                                        "system).")
    source = django_filters.ChoiceFilter(choices=AuditSource.choices)
    target_type = django_filters.CharFilter(help_text="e.g. auth.user, activelearn.round, labeling.importjob, file.")
    target_id = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte", help_text="From (ISO 8601).")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt",
                                             help_text="Before (ISO 8601).")

    class Meta:
        model = AuditEvent
        fields = ["action", "actor", "source", "target_type", "target_id", "since", "until"]
