"""Active-learning rounds (ML staff) and worker health (ML staff, admins)."""
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from activelearn.heartbeat import worker_status
from activelearn.models import Round
from activelearn.rounds import lifecycle as rounds
from activelearn.rounds.config import RoundConfigError, from_form
from activelearn.rounds.errors import RoundBusy
from activelearn.rounds.progress import round_detail
from api import scoping
from api.exceptions import Conflict
from api.schema import Error
from api.serializers import rounds as s
from labeling.people import roles

BUSY = OpenApiResponse(Error, description="Another round is queued or running (the message says which); "
                                          "wait for it to finish or cancel it.")


def _config_error(exc: RoundConfigError) -> ValidationError:
    return ValidationError({exc.field: exc.message})


def _detail(r: Round) -> dict:
    return s.RoundDetailOut(round_detail(r)).data


class RoundList(scoping.ProjectScoped, generics.ListAPIView):
    """Rounds of your projects, newest generation first."""

    serializer_class = s.RoundOut
    queryset = Round.objects.select_related("created_by", "project").order_by("-generation")
    filter_backends = [scoping.ProjectFilter]

    @property
    def project_perm(self):
        return roles.RUN_ROUNDS if self.request and self.request.method == "POST" else roles.VIEW_MODELS

    @extend_schema(request=s.RoundConfigIn, summary="Start a round (retrain, score, grade, select, queue)",
                   responses={201: s.RoundDetailOut,
                              400: OpenApiResponse(Error, description="An option is invalid (`field` names it)."),
                              404: scoping.NOT_YOURS, 409: BUSY})
    def post(self, request):
        data = request.data
        try:
            if hasattr(data, "dict"):  # a form body: text only, read as typed values (JSON is taken as it is)
                data = from_form(data.dict())
            data = dict(data) if isinstance(data, dict) else data
            slug = data.pop("project", None) if isinstance(data, dict) else None
            project = scoping.target(request, roles.RUN_ROUNDS, slug if isinstance(slug, str) else None)
            r = rounds.start_round(data, request.user, project=project)
        except RoundConfigError as exc:
            raise _config_error(exc) from None
        except RoundBusy as exc:
            raise Conflict(exc.message) from None
        return Response(_detail(r), status=status.HTTP_201_CREATED, headers={"Location": reverse("api-round",
                                                                                                 args=[r.pk])})


class RoundDetail(APIView):
    permission_classes = [scoping.in_project(roles.VIEW_MODELS)]

    @extend_schema(responses=s.RoundDetailOut, summary="A round with the live progress of its stages (poll it)")
    def get(self, request, pk):
        return Response(_detail(scoping.get_scoped(Round.objects.select_related("created_by", "project"), request,
                                                   roles.VIEW_MODELS, pk=pk)))


def _act(request, pk, action) -> Response:
    """Cancel or resume: the same lookup, the same errors (a 400 naming the field, a 409 when busy)."""
    r = scoping.get_scoped(Round.objects.all(), request, roles.RUN_ROUNDS, pk=pk)
    try:
        r = action(r, actor=request.user)
    except RoundConfigError as exc:
        raise _config_error(exc) from None
    except RoundBusy as exc:
        raise Conflict(exc.message) from None
    return Response(_detail(r))


class CancelRound(APIView):
    permission_classes = [scoping.in_project(roles.RUN_ROUNDS)]

    @extend_schema(request=None, summary="Cancel a queued or running round",
                   responses={200: s.RoundDetailOut,
                              400: OpenApiResponse(Error, description="The round is not queued or running.")})
    def post(self, request, pk):
        return _act(request, pk, rounds.cancel_round)


class ResumeRound(APIView):
    permission_classes = [scoping.in_project(roles.RUN_ROUNDS)]

    @extend_schema(request=None, summary="Run a failed or cancelled round again from its first unfinished stage",
                   responses={200: s.RoundDetailOut,
                              400: OpenApiResponse(Error, description="The round is not failed or cancelled."),
                              409: BUSY})
    def post(self, request, pk):
        return _act(request, pk, rounds.resume_round)


class Workers(APIView):
    permission_classes = [scoping.in_project(roles.VIEW_MODELS) | scoping.in_project(roles.QUALITY)]

    @extend_schema(responses=s.WorkerStatusOut, summary="Is a Celery worker alive? (imports, exports and rounds "
                                                        "wait for one)")
    def get(self, request):
        return Response(s.WorkerStatusOut(worker_status()).data)
