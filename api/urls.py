"""Everything under /api/. The permission-matrix test walks these patterns: a new
endpoint needs a row there."""
from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api.views import (
    audit,
    data,
    jobs,
    labels,
    model_registration,
    model_versions,
    people,
    policy,
    projects,
    rounds,
    tasks,
)


class UsernameConverter:
    """A username in the characters Django allows: any other path segment is a 404 before a query
    (PostgreSQL refuses a NUL in a text parameter; `<str:>` let one through, a 500)."""

    regex = r"[\w.@+-]+"

    def to_python(self, value):
        return value

    def to_url(self, value):
        return value


register_converter(UsernameConverter, "username")

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # Split view: the page loads its init script from /api/docs/?script= instead of inlining it,
    # so the Content-Security-Policy needs no 'unsafe-inline'.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger_ui.html"),
         name="api-docs"),
    # annotator flow
    path("tasks/next/", tasks.NextTask.as_view(), name="api-task-next"),
    path("tasks/<uuid:lease_id>/draft/", tasks.Draft.as_view(), name="api-task-draft"),
    path("tasks/<uuid:lease_id>/submit/", tasks.Submit.as_view(), name="api-task-submit"),
    path("tasks/<uuid:lease_id>/give-up/", tasks.GiveUp.as_view(), name="api-task-give-up"),
    path("tasks/<uuid:lease_id>/bad-problem/", tasks.BadProblem.as_view(), name="api-task-bad-problem"),
    path("tasks/<uuid:lease_id>/resegment/", tasks.Resegment.as_view(), name="api-task-resegment"),
    path("tasks/<uuid:lease_id>/bad-segmentation/", tasks.BadSegmentation.as_view(), name="api-task-bad-segmentation"),
    # data
    path("problems/", data.ProblemList.as_view(), name="api-problems"),
    path("problems/<int:pk>/", data.ProblemDetail.as_view(), name="api-problem"),
    path("solutions/", data.SolutionList.as_view(), name="api-solutions"),
    path("solutions/<int:pk>/", data.SolutionDetail.as_view(), name="api-solution"),
    path("passes/", data.PassList.as_view(), name="api-passes"),
    path("passes/<int:pk>/", data.PassDetail.as_view(), name="api-pass"),
    # bulk data in and out: background jobs
    path("imports/", jobs.ImportList.as_view(), name="api-imports"),
    path("imports/<uuid:pk>/", jobs.ImportDetail.as_view(), name="api-import"),
    path("exports/", jobs.ExportList.as_view(), name="api-exports"),
    path("exports/<uuid:pk>/", jobs.ExportDetail.as_view(), name="api-export"),
    path("exports/<uuid:pk>/download/", jobs.ExportDownload.as_view(), name="api-export-download"),
    # people
    path("projects/", projects.ProjectList.as_view(), name="api-projects"),
    path("projects/<slug:slug>/", projects.ProjectDetail.as_view(), name="api-project"),
    path("projects/<slug:slug>/members/", projects.MemberList.as_view(), name="api-project-members"),
    path("projects/<slug:slug>/members/<username:username>/", projects.MemberDetail.as_view(),
         name="api-project-member"),
    path("me/", people.Me.as_view(), name="api-me"),
    path("users/", people.UserList.as_view(), name="api-users"),
    path("users/<username:username>/", people.UserDetail.as_view(), name="api-user"),
    path("users/<username:username>/screening/", people.Screening.as_view(), name="api-user-screening"),
    path("tokens/", people.TokenList.as_view(), name="api-tokens"),
    path("tokens/<uuid:pk>/", people.TokenDetail.as_view(), name="api-token"),
    path("stats/annotators/", people.AnnotatorStats.as_view(), name="api-stats-annotators"),
    # models
    path("models/", model_versions.ModelList.as_view(), name="api-models"),
    path("models/<int:pk>/", model_versions.ModelDetail.as_view(), name="api-model"),
    path("models/<int:pk>/activate/", model_versions.ActivateModel.as_view(), name="api-model-activate"),
    path("models/register/", model_registration.RegisterModel.as_view(), name="api-model-register"),
    # active-learning rounds (ML staff) and worker health
    path("rounds/", rounds.RoundList.as_view(), name="api-rounds"),
    path("rounds/<int:pk>/", rounds.RoundDetail.as_view(), name="api-round"),
    path("rounds/<int:pk>/cancel/", rounds.CancelRound.as_view(), name="api-round-cancel"),
    path("rounds/<int:pk>/resume/", rounds.ResumeRound.as_view(), name="api-round-resume"),
    path("workers/", rounds.Workers.as_view(), name="api-workers"),
    # the policy: connections and the generation runs that sampled from them (ML staff)
    path("connections/", policy.ConnectionList.as_view(), name="api-connections"),
    path("connections/<slug:name>/", policy.ConnectionDetail.as_view(), name="api-connection"),
    path("generations/", policy.GenerationList.as_view(), name="api-generations"),
    path("generations/<int:pk>/", policy.GenerationDetail.as_view(), name="api-generation"),
    # automatic step labels and where sources agree
    path("labels/runs/", labels.LabelRunList.as_view(), name="api-label-runs"),
    path("labels/runs/<int:pk>/", labels.LabelRunDetail.as_view(), name="api-label-run"),
    path("labels/agreement/", labels.Agreement.as_view(), name="api-label-agreement"),
    # the audit trail (admins)
    path("audit/", audit.AuditList.as_view(), name="api-audit"),
]
