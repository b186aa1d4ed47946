import django_filters
from django.db.models import Exists, OuterRef

from labeling.models import FinishReason, LabeledPass, Problem, Solution


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
