"""Policy connections (ML staff set them up; everyone with access to models may read them) and the
generation runs that sampled from them."""
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from activelearn.models import GenerationRun, PolicyConnection
from activelearn.options import OptionError
from activelearn.policy import connection, connection_writes
from api import scoping
from api.serializers import policy as s
from labeling.people import projects, roles


def _refused(exc: OptionError) -> ValidationError:
    return ValidationError({exc.field: exc.message})


class _Connections(APIView):
    @property
    def perm(self) -> str:
        return roles.VIEW_MODELS if self.request.method in SAFE_METHODS else roles.RUN_ROUNDS

    def get_permissions(self):
        return [scoping.in_project(self.perm)()]


class ConnectionList(_Connections):
    @extend_schema(responses=s.ConnectionOut(many=True), summary="Policy connections: built in, and those stored "
                                                                 "in your projects", parameters=[scoping.PROJECT_PARAM])
    def get(self, request):
        builtin = connection.builtin_names()
        rows = PolicyConnection.objects.select_related("project").order_by("name")
        ids = scoping.projects_for(request, self.perm)
        rows = rows if ids is None else rows.filter(project_id__in=ids)
        return Response([s.connection_out(n) for n in builtin] + [s.connection_out(r.name, r) for r in rows])

    @extend_schema(request=s.ConnectionIn, responses={201: s.ConnectionOut, 404: scoping.NOT_YOURS},
                   summary="Store a policy connection (in a project)")
    def post(self, request):
        data = s.ConnectionIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = scoping.target(request, self.perm, data.validated_data.get("project"))
        try:
            row = connection_writes.create(data.validated_data["name"], data.validated_data["settings"],
                                           actor=request.user, project=project.pk)
        except OptionError as exc:
            raise _refused(exc) from None
        return Response(s.connection_out(row.name, row), status=status.HTTP_201_CREATED)


class ConnectionDetail(_Connections):
    def _row(self, name) -> PolicyConnection:
        """The caller's connection `name`; with ?project=, that project's (a name is a project's, so someone in
        two projects that both have one names the project)."""
        if name in connection_writes.RESERVED and self.request.method not in SAFE_METHODS:
            raise PermissionDenied(f"{name} is built in: set it with the POLICY_* settings")
        rows = scoping.scoped(PolicyConnection.objects.select_related("project"), self.request, self.perm)
        slug = self.request.query_params.get("project")
        named = connection.NAME.match(name) and (not slug or projects.is_slug(slug))  # (a NUL is a 500 on PostgreSQL)
        found = list((rows.filter(project__slug=slug) if slug else rows).filter(name=name)[:2]) if named else []
        if not found:
            raise NotFound("no such connection in your projects")
        if len(found) > 1:
            raise ValidationError({"project": f"connections named {name!r} are in several of your projects: add "
                                              "?project=<slug>"})
        return found[0]

    @extend_schema(responses=s.ConnectionOut, parameters=[scoping.PROJECT_PARAM])
    def get(self, request, name):
        if name in connection.builtin_names() and name in connection_writes.RESERVED:
            return Response(s.connection_out(name))
        row = self._row(name)
        return Response(s.connection_out(row.name, row))

    @extend_schema(request=s.ConnectionPatch, responses=s.ConnectionOut, summary="Change some of its options",
                   parameters=[scoping.PROJECT_PARAM])
    def patch(self, request, name):
        row = self._row(name)
        data = s.ConnectionPatch(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            row = connection_writes.update(row, data.validated_data["settings"], actor=request.user)
        except OptionError as exc:
            raise _refused(exc) from None
        return Response(s.connection_out(row.name, row))

    @extend_schema(request=None, responses={204: None}, parameters=[scoping.PROJECT_PARAM])
    def delete(self, request, name):
        connection_writes.delete(self._row(name), actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GenerationList(scoping.ProjectScoped, generics.ListAPIView):
    project_perm = roles.VIEW_MODELS
    serializer_class = s.GenerationRunOut
    queryset = GenerationRun.objects.select_related("round", "project").order_by("-id")
    filter_backends = [scoping.ProjectFilter]


class GenerationDetail(scoping.ProjectScoped, generics.RetrieveAPIView):
    project_perm = roles.VIEW_MODELS
    serializer_class = s.GenerationRunOut
    queryset = GenerationList.queryset
