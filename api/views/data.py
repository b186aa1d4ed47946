"""Problems, solutions and labelled passes: read-only, for staff, of their projects."""
from django.db.models import Count
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics

from api import filters
from api.scoping import ProjectFilter, ProjectScoped
from api.serializers.data import PassOut, ProblemOut, SolutionOut
from labeling.exports import rows
from labeling.models import LabeledPass, Problem, Solution
from labeling.people import roles


class ProblemList(ProjectScoped, generics.ListAPIView):
    project_perm = roles.VIEW_DATA
    serializer_class = ProblemOut
    queryset = Problem.objects.select_related("project").annotate(n_solutions=Count("solutions")).order_by("id")
    filter_backends = [ProjectFilter, DjangoFilterBackend]
    filterset_class = filters.ProblemFilter


class ProblemDetail(ProjectScoped, generics.RetrieveAPIView):
    project_perm = roles.VIEW_DATA
    serializer_class = ProblemOut
    queryset = ProblemList.queryset


class SolutionList(ProjectScoped, generics.ListAPIView):
    project_perm = roles.VIEW_DATA
    serializer_class = SolutionOut
    queryset = Solution.objects.select_related("project").annotate(n_passes=Count("passes")).order_by("id")
    filter_backends = [ProjectFilter, DjangoFilterBackend]
    filterset_class = filters.SolutionFilter


class SolutionDetail(ProjectScoped, generics.RetrieveAPIView):
    project_perm = roles.VIEW_DATA
    serializer_class = SolutionOut
    queryset = SolutionList.queryset


class _Passes(ProjectScoped):
    project_perm = roles.VIEW_PASSES
    serializer_class = PassOut
    queryset = LabeledPass.objects.select_related("annotator", "project").order_by("id")

    def get_serializer(self, *args, **kwargs):
        objs = args[0] if args else []
        objs = objs if isinstance(objs, (list, tuple)) else [objs]
        kwargs.setdefault("context", self.get_serializer_context())
        kwargs["context"]["records"] = rows.pass_records(o.pk for o in objs if o is not None)
        return self.serializer_class(*args, **kwargs)


class PassList(_Passes, generics.ListAPIView):
    filter_backends = [ProjectFilter, DjangoFilterBackend]
    filterset_class = filters.PassFilter


class PassDetail(_Passes, generics.RetrieveAPIView):
    pass
