"""The annotator flow: the same labeling.queue.claims / labeling.queue.submission calls as the labelling page."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from api import scoping
from api.permissions import has_perm
from api.schema import LeaseMovedOut, SubmitConflict
from api.serializers import tasks as s
from labeling.models import FinishReason, Project
from labeling.people import accounts, roles
from labeling.queue import claims as queue
from labeling.queue.payloads import task_payload
from labeling.queue.resegment import report_bad_segmentation, resegment
from labeling.queue.submission import save_draft, submit

CONFLICT = OpenApiResponse(SubmitConflict, description="This client id already landed for another task or with other "
                           "content, or this task was already submitted with other content: nothing was stored; "
                           "`receipt` names the pass that landed. Or the task moved to a new segmentation version: "
                           "`moved_to` names its lease.")
MOVED = OpenApiResponse(LeaseMovedOut, description="The task moved to a new segmentation version (a merge or a "
                        "split): nothing was stored here; `moved_to` names the lease to work on.")


class _TaskView(APIView):
    permission_classes = [has_perm(roles.LABEL)]

    def annotator(self):
        return accounts.annotator_for(self.request.user)

    def body(self, serializer_class):
        ser = serializer_class(data=self.request.data)
        ser.is_valid(raise_exception=True)
        return ser.validated_data


class NextTask(_TaskView):
    @extend_schema(request=s.NextIn, responses={200: s.NextOut, 404: scoping.NOT_YOURS},
                   summary="Your open task, or claim the next one")
    def post(self, request):
        slug = self.body(s.NextIn)["project"]
        project = None
        if slug is not None:  # a project that is not theirs looks exactly like a missing one
            project = Project.objects.filter(slug=slug).values_list("id", flat=True).first()
            if project is None:
                raise NotFound({"project": "no such project for you"})
        try:
            return Response(task_payload(queue.next_task(self.annotator(), project=project)))
        except queue.NotAMember:
            raise NotFound({"project": "no such project for you"}) from None


class Draft(_TaskView):
    @extend_schema(request=s.DraftIn, responses={200: s.OkOut, 409: MOVED}, summary="Save the ratings so far")
    def post(self, request, lease_id):
        data = self.body(s.DraftIn)
        save_draft(self.annotator(), lease_id, data["ratings"], data["active_ms"], data.get("outcome"))
        return Response({"ok": True})


class Resegment(_TaskView):
    @extend_schema(request=s.ResegmentIn, responses=s.NextOut,
                   summary="Merge a step with the next or split one: a new segmentation version, your task moves to it")
    def post(self, request, lease_id):
        data = self.body(s.ResegmentIn)
        lease = resegment(self.annotator(), lease_id, data["action"], data["step"], data.get("at"))
        return Response(task_payload(lease))


class BadSegmentation(_TaskView):
    @extend_schema(request=s.ReportIn, responses=s.OkOut, summary="Flag the solution as badly cut into steps")
    def post(self, request, lease_id):
        report_bad_segmentation(self.annotator(), lease_id, self.body(s.ReportIn)["note"])
        return Response({"ok": True})


class _Finish(_TaskView):
    def finish(self, lease_id, data, finish_reason):
        labeled, duplicate = submit(self.annotator(), lease_id, data["client_id"], data["ratings"], finish_reason,
                                    data["total_time"], data.get("reason_text", ""), data.get("outcome"))
        return Response({"ok": True, "duplicate": duplicate,
                         "finish_reason": labeled.finish_reason, "receipt": labeled.client_id})


class Submit(_Finish):
    @extend_schema(request=s.SubmitIn, responses={200: s.SubmitOut, 409: CONFLICT},
                   summary="Submit a pass (found an error, or reached the end)")
    def post(self, request, lease_id):
        data = self.body(s.SubmitIn)
        return self.finish(lease_id, data, data["finish_reason"])


class GiveUp(_Finish):
    @extend_schema(request=s.StopIn, responses={200: s.SubmitOut, 409: CONFLICT},
                   summary="Give up on this task, with a reason")
    def post(self, request, lease_id):
        return self.finish(lease_id, self.body(s.StopIn), FinishReason.GIVE_UP)


class BadProblem(_Finish):
    @extend_schema(request=s.StopIn, responses={200: s.SubmitOut, 409: CONFLICT},
                   summary="Report the problem as bad, with a reason")
    def post(self, request, lease_id):
        return self.finish(lease_id, self.body(s.StopIn), FinishReason.BAD_PROBLEM)
