"""Automatic labelling runs (ML staff start them; they run on the workers) and where label sources
agree with people and with each other (admins and ML staff)."""

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from activelearn.labellers import runs
from activelearn.options import OptionError
from api import scoping
from api.serializers import labels as s
from labeling.models import AutoLabelRun, RunStatus
from labeling.people import roles
from labeling.reports import agreement


class LabelRunList(scoping.ProjectScoped, generics.ListAPIView):
    """Automatic labelling runs of your projects, newest first."""

    serializer_class = s.LabelRunOut
    queryset = AutoLabelRun.objects.select_related("project").order_by("-id")
    filter_backends = [scoping.ProjectFilter]

    @property
    def project_perm(self) -> str:
        return roles.VIEW_MODELS if self.request.method in SAFE_METHODS else roles.RUN_ROUNDS

    @extend_schema(request=s.LabelRunIn, responses={202: s.LabelRunOut, 404: scoping.NOT_YOURS},
                   summary="Start (or resume) a labelling run")
    def post(self, request):
        data = s.LabelRunIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        project = scoping.target(request, roles.RUN_ROUNDS, d.get("project"))
        params = {k: d[k] for k in ("connection", "k", "attempts", "verdicts", "threshold")}
        filters = {"run": d["of_run"] or None, "labelled": d["labelled"], "source": d["problem_source"] or None,
                   "cap": d["cap"]}
        key = d.get("key") or runs.run_key(d["source"], params, filters, project)
        if runs.taken_elsewhere(key, project):
            raise ValidationError({"key": f"a run named {key!r} exists in another project: choose another key"})
        with transaction.atomic():
            try:
                run = runs.start_run(key, d["source"], params, filters, user=request.user, project=project.pk)
            except OptionError as exc:
                raise ValidationError({exc.field: exc.message}) from None
            if run.status == RunStatus.FAILED:  # asked again: go on with what is missing
                AutoLabelRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, error="")
                run.refresh_from_db()
            if run.status == RunStatus.RUNNING:
                runs.send(run)
        return Response(s.run_out(run), status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/labels/runs/{run.pk}/"})


class LabelRunDetail(APIView):
    permission_classes = [scoping.in_project(roles.VIEW_MODELS)]

    @extend_schema(responses=s.LabelRunOut)
    def get(self, request, pk):
        return Response(s.run_out(scoping.get_scoped(AutoLabelRun.objects.select_related("project"), request,
                                                     roles.VIEW_MODELS, pk=pk)))


class Agreement(APIView):
    permission_classes = [scoping.in_project(roles.QUALITY)]

    @extend_schema(responses=s.AgreementOut, summary="Automatic labels against people's and each other",
                   parameters=[OpenApiParameter("a", str, description="A run, to compare with b"),
                               OpenApiParameter("b", str), OpenApiParameter("limit", int), scoping.PROJECT_PARAM])
    def get(self, request):
        projects = scoping.projects_for(request, roles.QUALITY)
        a, b = request.query_params.get("a"), request.query_params.get("b")
        try:
            limit = max(1, min(500, int(request.query_params.get("limit", 100))))
        except ValueError:
            raise ValidationError({"limit": "must be an integer"}) from None
        return Response({"against_people": agreement.against_people(projects=projects),
                         "between_runs": agreement.between_runs(a, b, projects) if a and b else None,
                         "disagreements": agreement.disagreements(limit, projects=projects)})
