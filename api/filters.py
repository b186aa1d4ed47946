import django_filters
from django.db.models import Exists, OuterRef

from labeling.models import AuditAction, AuditEvent, AuditSource, FinishReason, LabeledPass, Problem, Solution


class ProblemFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="text", lookup_expr="icontains", label="Text contains")

    class Meta:
        model = Problem
        fields = ["subject", "level", "source_id"]


class SolutionFilter(django_filters.FilterSet):
    labeled = django_filters.BooleanFilter(method="filter_labeled", label="Has at least one labelled pass")

    class Meta:
        model = Solution
        fields = ["problem", "generation", "answer_is_correct", "is_quality_control", "is_screening", "generator"]

    def filter_labeled(self, qs, name, value):
        has = Exists(LabeledPass.objects.filter(solution=OuterRef("pk")))
        return qs.filter(has) if value else qs.exclude(has)


class PassFilter(django_filters.FilterSet):
    annotator = django_filters.UUIDFilter(field_name="annotator__uuid")
    finish_reason = django_filters.ChoiceFilter(choices=FinishReason.choices)
    submitted_after = django_filters.IsoDateTimeFilter(field_name="submitted_at", lookup_expr="gte")

    class Meta:
        model = LabeledPass
        fields = ["problem", "solution", "generation", "is_quality_control", "is_screening"]


class AuditFilter(django_filters.FilterSet):
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
