"""Automatic labelling runs (ML staff start them; they run on the workers) and where label sources
agree with people and with each other (admins and ML staff)."""
import hashlib
import json

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from activelearn.labellers import runs
from activelearn.options import OptionError
from api.permissions import has_perm
from api.serializers import labels as s
from labeling import agreement
from labeling.models import AutoLabelRun
from labeling.people import roles


class LabelRunList(generics.ListAPIView):
    """Automatic labelling runs, newest first."""

    serializer_class = s.LabelRunOut
    queryset = AutoLabelRun.objects.order_by("-id")

    def get_permissions(self):
        return [has_perm(roles.VIEW_MODELS if self.request.method in SAFE_METHODS else roles.RUN_ROUNDS)()]

    @extend_schema(request=s.LabelRunIn, responses={202: s.LabelRunOut}, summary="Start (or resume) a labelling run")
    def post(self, request):
        data = s.LabelRunIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        params = {k: d[k] for k in ("connection", "k", "attempts", "verdicts", "threshold")}
        filters = {"run": d["of_run"] or None, "labelled": d["labelled"], "source": d["problem_source"] or None,
                   "cap": d["cap"]}
        key = d.get("key") or f"{d['source']}-" + hashlib.sha256(json.dumps(
            [params, filters], sort_keys=True).encode()).hexdigest()[:12]
        with transaction.atomic():
            try:
                run = runs.start_run(key, d["source"], params, filters, user=request.user)
            except OptionError as exc:
                raise ValidationError({exc.field: exc.message}) from None
            if run.status == AutoLabelRun.Status.FAILED:  # asked again: go on with what is missing
                AutoLabelRun.objects.filter(pk=run.pk).update(status=AutoLabelRun.Status.RUNNING, error="")
                run.refresh_from_db()
            if run.status == AutoLabelRun.Status.RUNNING:
                runs.send(run)
        return Response(s.run_out(run), status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/api/labels/runs/{run.pk}/"})


class LabelRunDetail(APIView):
    permission_classes = [has_perm(roles.VIEW_MODELS)]

    @extend_schema(responses=s.LabelRunOut)
    def get(self, request, pk):
        return Response(s.run_out(get_object_or_404(AutoLabelRun, pk=pk)))


class Agreement(APIView):
    permission_classes = [has_perm(roles.QUALITY)]

    @extend_schema(responses=s.AgreementOut, summary="Automatic labels against people's and each other",
                   parameters=[OpenApiParameter("a", str, description="A run, to compare with b"),
                               OpenApiParameter("b", str), OpenApiParameter("limit", int)])
    def get(self, request):
        a, b = request.query_params.get("a"), request.query_params.get("b")
        try:
            limit = max(1, min(500, int(request.query_params.get("limit", 100))))
        except ValueError:
            raise ValidationError({"limit": "must be an integer"}) from None
        return Response({"against_people": agreement.against_people(),
                         "between_runs": agreement.between_runs(a, b) if a and b else None,
                         "disagreements": agreement.disagreements(limit)})
