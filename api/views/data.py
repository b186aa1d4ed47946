"""Problems, solutions and labelled passes: read-only, for staff."""
from django.db.models import Count
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics

from api import filters
from api.permissions import has_perm
from api.serializers.data import PassOut, ProblemOut, SolutionOut
from labeling.exports import rows
from labeling.models import LabeledPass, Problem, Solution
from labeling.people import roles


class ProblemList(generics.ListAPIView):
    permission_classes = [has_perm(roles.VIEW_DATA)]
    serializer_class = ProblemOut
    queryset = Problem.objects.annotate(n_solutions=Count("solutions")).order_by("id")
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.ProblemFilter


class ProblemDetail(generics.RetrieveAPIView):
    permission_classes = [has_perm(roles.VIEW_DATA)]
    serializer_class = ProblemOut
    queryset = ProblemList.queryset


class SolutionList(generics.ListAPIView):
    permission_classes = [has_perm(roles.VIEW_DATA)]
    serializer_class = SolutionOut
    queryset = Solution.objects.annotate(n_passes=Count("passes")).order_by("id")
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.SolutionFilter


class SolutionDetail(generics.RetrieveAPIView):
    permission_classes = [has_perm(roles.VIEW_DATA)]
    serializer_class = SolutionOut
    queryset = SolutionList.queryset


class _Passes:
    permission_classes = [has_perm(roles.VIEW_PASSES)]
    serializer_class = PassOut
    queryset = LabeledPass.objects.select_related("annotator").order_by("id")

    def get_serializer(self, *args, **kwargs):
        objs = args[0] if args else []
        objs = objs if isinstance(objs, (list, tuple)) else [objs]
        kwargs.setdefault("context", self.get_serializer_context())
        kwargs["context"]["records"] = rows.pass_records(o.pk for o in objs if o is not None)
        return self.serializer_class(*args, **kwargs)


class PassList(_Passes, generics.ListAPIView):
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.PassFilter


class PassDetail(_Passes, generics.RetrieveAPIView):
    pass
