"""Projects: the ones the caller may see (their members', each with the caller's role; every one for a
superuser), made by account admins, set up and staffed by each project's admins. Another project looks exactly
like a missing one (404)."""
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError as ModelValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api.schema import Error
from api.serializers import projects as s
from labeling.models import Project, ProjectMember
from labeling.people import projects, roles

User = get_user_model()
ADMINS_ONLY = "Only the project's admins (and superusers) may do this."


def _refused(exc: ModelValidationError) -> ValidationError:
    return ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"project": exc.messages})


def _administered(request, slug: str) -> Project:
    """The caller's project `slug` (404 otherwise), which their role there lets them manage (403 otherwise)."""
    project = get_object_or_404(projects.visible_to(request.user), slug=slug)
    if not projects.may(request.user, roles.MANAGE_USERS, project.pk):
        raise PermissionDenied(f"only admins of {project.slug} change it")
    return project


class ProjectList(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = s.ProjectOut

    def get_queryset(self):
        return projects.visible_to(self.request.user).order_by("slug")

    @extend_schema(request=s.ProjectIn, responses={201: s.ProjectOut},
                   summary="Make a project (account admins); you become its admin")
    def post(self, request):
        if not request.user.has_perm(roles.MANAGE_USERS):
            raise PermissionDenied("only admins make projects")
        data = s.ProjectIn(data=request.data)
        data.is_valid(raise_exception=True)
        d = dict(data.validated_data)
        if Project.objects.filter(slug=d["slug"]).exists():
            raise ValidationError({"slug": "a project with this slug exists"})
        try:
            project = projects.create_project(d.pop("slug"), d.pop("name"), actor=request.user, **d)
        except ModelValidationError as exc:
            raise _refused(exc) from None
        out = projects.visible_to(request.user).get(pk=project.pk)
        return Response(s.ProjectOut(out).data, status=status.HTTP_201_CREATED)


class ProjectDetail(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = s.ProjectOut
    lookup_field = "slug"

    def get_queryset(self):
        return projects.visible_to(self.request.user)

    @extend_schema(request=s.ProjectPatch, responses=s.ProjectOut, summary="Change its settings (its admins)")
    def patch(self, request, slug):
        project = _administered(request, slug)
        data = s.ProjectPatch(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        try:
            projects.update_settings(project, dict(data.validated_data), actor=request.user)
        except ModelValidationError as exc:
            raise _refused(exc) from None
        return Response(s.ProjectOut(self.get_queryset().get(pk=project.pk)).data)


class MemberList(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.MemberOut(many=True), 403: OpenApiResponse(Error, description=ADMINS_ONLY)},
                   summary="Its members and their roles (its admins)")
    def get(self, request, slug):
        project = _administered(request, slug)
        return Response(s.MemberOut(project.members.select_related("user").order_by("user__username"),
                                    many=True).data)


class MemberDetail(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=s.MemberIn, responses=s.MemberOut, summary="Add a member or change their role")
    def put(self, request, slug, username):
        project = _administered(request, slug)
        user = get_object_or_404(User, username=username)
        data = s.MemberIn(data=request.data)
        data.is_valid(raise_exception=True)
        if user == request.user and data.validated_data["role"] != roles.Role.ADMIN and not user.is_superuser:
            raise ValidationError({"role": "you cannot demote yourself here"})
        member = projects.set_member(project, user, data.validated_data["role"], actor=request.user)
        return Response(s.MemberOut(member).data)

    @extend_schema(request=None, summary="Remove a member",
                   responses={204: None, 400: OpenApiResponse(Error, description="Yourself, or not a member.")})
    def delete(self, request, slug, username):
        project = _administered(request, slug)
        user = get_object_or_404(User, username=username)
        if user == request.user:
            raise ValidationError({"username": "you cannot remove yourself"})
        if not ProjectMember.objects.filter(project=project, user=user).exists():
            raise ValidationError({"username": f"{username} is not a member of {project.slug}"})
        projects.remove_member(project, user, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
