"""Users and roles (admins), API tokens (everyone: their own; admins: those of whom they cover), own stats.

Acting on someone else's account (a token for them, their password, role, activation, screening) needs the caller
to cover them (labeling.people.authority): nobody obtains a credential for someone with rights they lack."""
from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from api import scoping
from api.models import ApiToken
from api.permissions import has_perm
from api.serializers import people as s
from api.tokens import create_token, revoke_token
from labeling.models import DEFAULT_PROJECT_ID
from labeling.people import accounts, authority, roles
from labeling.queue import screening
from labeling.reports import quality

User = get_user_model()


def _covered(actor, user) -> None:
    if not authority.covers(actor, user):
        raise PermissionDenied(f"{user.get_username()} has rights you do not have: only someone who has them "
                               "(or a superuser) may act on their account")


def _may_grant(actor, role: str) -> None:
    # an account's role is its role in the default project too (labeling.people.projects.join_default)
    if not authority.may_grant(actor, role, DEFAULT_PROJECT_ID):
        raise PermissionDenied("an account's role is also its role in the default project, which only that "
                               "project's admins (and superusers) give")


class UserList(generics.ListCreateAPIView):
    permission_classes = [has_perm(roles.MANAGE_USERS)]
    serializer_class = s.UserOut
    queryset = User.objects.select_related("annotator").order_by("username")

    @extend_schema(request=s.UserIn, responses={201: s.UserOut})
    def post(self, request):
        data = s.UserIn(data=request.data)
        data.is_valid(raise_exception=True)
        if User.objects.filter(username=data.validated_data["username"]).exists():
            raise ValidationError({"username": "a user with this name exists; PATCH it instead"})
        d = data.validated_data
        _may_grant(request.user, d["role"])
        annotator = accounts.set_user(d["username"], d["password"], d["role"], email=d["email"], actor=request.user)
        return Response(s.UserOut(annotator.user).data, status=status.HTTP_201_CREATED)


class UserDetail(generics.RetrieveAPIView):
    permission_classes = [has_perm(roles.MANAGE_USERS)]
    serializer_class = s.UserOut
    queryset = UserList.queryset
    lookup_field = "username"
    lookup_value_regex = r"[\w.@+-]+"

    @extend_schema(request=s.UserPatch, responses=s.UserOut)
    @transaction.atomic
    def patch(self, request, username):
        user = self.get_object()
        if user.is_superuser and not request.user.is_superuser:
            raise PermissionDenied("only a superuser can change a superuser")
        _covered(request.user, user)
        # partial: else a form body without is_active deactivates
        data = s.UserPatch(data=request.data, partial=True, context={"user": user})
        data.is_valid(raise_exception=True)
        d = data.validated_data
        demoted = d.get("is_active") is False or d.get("role", roles.Role.ADMIN) != roles.Role.ADMIN
        if user == request.user and demoted:
            raise ValidationError({"role": "you cannot demote or deactivate yourself"})
        if d.get("role") is not None:
            _may_grant(request.user, d["role"])
        accounts.update_user(user, actor=request.user, role=d.get("role"), password=d.get("password"),
                             is_active=d.get("is_active"))
        return Response(s.UserOut(User.objects.select_related("annotator").get(pk=user.pk)).data)


class Screening(APIView):
    permission_classes = [has_perm(roles.MANAGE_USERS)]

    @extend_schema(request=s.ScreeningIn, responses=s.UserOut, summary="Approve or reset a user's screening")
    def post(self, request, username):
        user = get_object_or_404(User, username=username)
        data = s.ScreeningIn(data=request.data)
        data.is_valid(raise_exception=True)
        _covered(request.user, user)
        screening.decide_screening(accounts.annotator_for(user), data.validated_data["action"], actor=request.user)
        return Response(s.UserOut(User.objects.select_related("annotator").get(pk=user.pk)).data)


class TokenList(generics.ListCreateAPIView):
    """Your tokens; admins see and revoke those of the users they cover, and make one for any of them."""

    permission_classes = [IsAuthenticated]
    serializer_class = s.TokenOut

    def get_queryset(self):
        qs = ApiToken.objects.select_related("user")
        if not self.request.user.has_perm(roles.MANAGE_USERS):
            return qs.filter(user=self.request.user)
        return qs.filter(user__in=authority.covered_users(self.request.user).values("pk"))

    @extend_schema(request=s.TokenIn, responses={201: s.TokenCreatedOut})
    def post(self, request):
        data = s.TokenIn(data=request.data)
        data.is_valid(raise_exception=True)
        owner = request.user
        if data.validated_data.get("user") and data.validated_data["user"] != request.user.username:
            if not request.user.has_perm(roles.MANAGE_USERS):
                raise ValidationError({"user": "only admins can make tokens for other users"})
            owner = User.objects.filter(username=data.validated_data["user"]).first()
            if owner is None:
                raise ValidationError({"user": "no such user"})
            _covered(request.user, owner)
        token, key = create_token(owner, data.validated_data["name"], created_by=request.user)
        out = s.TokenCreatedOut(token).data
        out["key"] = key
        return Response(out, status=status.HTTP_201_CREATED)


class TokenDetail(generics.RetrieveDestroyAPIView):
    """DELETE revokes: the token stops working at once and stays listed as revoked."""

    permission_classes = [IsAuthenticated]
    serializer_class = s.TokenOut
    get_queryset = TokenList.get_queryset

    def perform_destroy(self, instance):
        revoke_token(instance, actor=self.request.user)


class Me(APIView):
    @extend_schema(responses=inline_serializer("MeOut", {
        "username": serializers.CharField(), "role": serializers.CharField(), "annotator": serializers.UUIDField(),
        "permissions": serializers.ListField(child=serializers.CharField()), "progress": serializers.DictField()}))
    def get(self, request):
        annotator = accounts.annotator_for(request.user)
        return Response({"username": request.user.username, "role": annotator.role, "annotator": annotator.uuid,
                         "permissions": sorted(request.user.get_all_permissions()),
                         "progress": quality.annotator_progress(annotator)})


class AnnotatorStats(APIView):
    permission_classes = [scoping.in_project(roles.QUALITY)]

    @extend_schema(responses=inline_serializer("AnnotatorStatsPage", {
        "annotators": s.AnnotatorStatsOut(many=True), "agreement": serializers.DictField()}),
        parameters=[scoping.PROJECT_PARAM])
    def get(self, request):
        projects = scoping.projects_for(request, roles.QUALITY)
        return Response({"annotators": quality.annotator_table(projects),
                         "agreement": quality.inter_annotator_agreement(projects)})
