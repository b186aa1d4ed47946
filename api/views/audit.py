"""The audit trail (admins): who imported, exported, changed roles, ran rounds, activated
models, made or revoked tokens and decided screenings, newest first. A project's admins see its events;
the instance's own (people, tokens, and what happened before projects) need an admin account."""
from django.db.models import Q
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics

from api import filters, scoping
from api.serializers.audit import AuditEventOut
from labeling.people import projects, roles
from labeling.reports.reads import audit_events


class AuditList(scoping.ProjectScoped, generics.ListAPIView):
    project_perm = roles.VIEW_AUDIT
    serializer_class = AuditEventOut
    queryset = audit_events()
    filter_backends = [scoping.ProjectFilter, DjangoFilterBackend]
    filterset_class = filters.AuditFilter

    def get_queryset(self):
        user = self.request.user
        ids = projects.allowed(user, roles.VIEW_AUDIT)
        if ids is None:
            return self.queryset.all()
        mine = Q(project_id__in=ids)
        return self.queryset.filter(mine | Q(project__isnull=True) if user.has_perm(roles.VIEW_AUDIT) else mine)
