"""The projects the caller may see: their members' (each with the caller's role), every one for a superuser.
Another project looks exactly like a missing one (404)."""
from rest_framework import generics
from rest_framework.permissions import IsAuthenticated

from api.serializers import projects as s
from labeling import projects


class ProjectList(generics.ListAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = s.ProjectOut

    def get_queryset(self):
        return projects.visible_to(self.request.user).order_by("slug")


class ProjectDetail(generics.RetrieveAPIView):
    permission_classes = [IsAuthenticated]
    serializer_class = s.ProjectOut
    lookup_field = "slug"

    def get_queryset(self):
        return projects.visible_to(self.request.user)
