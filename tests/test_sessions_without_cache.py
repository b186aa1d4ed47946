"""Sessions kept in the database and read from Redis: labelling goes on while Redis is away."""
import json
import uuid

import pytest
from django.test import Client, override_settings

from labeling.models import LabeledPass

from .api_helpers import queued_solutions, token_client

pytestmark = pytest.mark.django_db

DEAD_REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
                          "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}


@override_settings(CACHES=DEAD_REDIS, SESSION_ENGINE="labeling.people.sessions")
def test_a_logged_in_annotator_labels_while_the_session_cache_is_down():
    queued_solutions(1)
    _, annotator = token_client("cacheless", "annotator")
    client = Client()
    client.force_login(annotator.user)  # saved to the database; the cache writes fail and are logged
    for _ in range(2):  # the cache read fails, the write-back fails: the database answers
        r = client.post("/api/tasks/next/", content_type="application/json")
        assert r.status_code == 200, r.content
    lease = r.json()["lease"]["id"]
    body = {"client_id": str(uuid.uuid4()), "ratings": [{"rating": 1}] * 3, "finish_reason": "solution",
            "total_time": 5}
    r = client.post(f"/api/tasks/{lease}/submit/", json.dumps(body), content_type="application/json")
    assert r.status_code == 200 and LabeledPass.objects.count() == 1, r.content
