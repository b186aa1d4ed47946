"""Issue 25, defect 4 and its siblings: where a policy client may send a request. A redirect from an
allowed host is not followed (a real loopback server answers 307 to another loopback port, which
must receive nothing); without POLICY_ALLOWED_HOSTS only loopback is accepted; addresses that no
connection may reach are refused by how they are written and by what a name resolves to. Nothing
here sends a packet anywhere but 127.0.0.1: refusals happen before a client exists."""
import ipaddress
import json

import pytest

from activelearn.labellers import runs
from activelearn.models import PolicyConnection
from activelearn.policy import connection
from activelearn.policy.client import PolicyClient, PolicyError
from activelearn.policy.connection import Connection, ConnectionConfigError
from labeling.models import StepLabels

from .api_helpers import queued_solutions
from .recording_server import completion

JSON = "application/json"


@pytest.mark.django_db(transaction=True)
def test_a_redirect_from_an_allowed_host_is_not_followed(recorders, settings, ml, eager):
    allowed, elsewhere = recorders(), recorders()
    settings.POLICY_ALLOWED_HOSTS = [f"localhost:{allowed.port}"]  # 127.0.0.1:<elsewhere> is not listed
    target = f"http://127.0.0.1:{elsewhere.port}/v1/chat/completions"
    allowed.reply = (307, {"Location": target}, "{}")
    elsewhere.reply = (200, {}, json.dumps(completion("\\boxed{-1}")))
    r = ml.post("/api/connections/", {"name": "hop", "settings": {
        "base_url": f"http://localhost:{allowed.port}/v1", "model": "m", "endpoint": "chat", "max_retries": 0}},
        content_type=JSON)
    assert r.status_code == 201, r.content
    queued_solutions(1)
    r = ml.post("/api/labels/runs/", {"source": "judge", "connection": "hop", "key": "hop"}, content_type=JSON)
    assert r.status_code == 202, r.content
    assert [m for m, _, _ in allowed.seen] == ["POST"]
    assert elsewhere.seen == []  # the redirect's target got nothing
    label = StepLabels.objects.get(run__key="hop")
    assert "redirect" in label.detail["refused"] and str(elsewhere.port) not in label.detail["refused"]
    assert ml.get(r["Location"]).json()["status"] == "failed"  # its only request failed


@pytest.mark.django_db
@pytest.mark.parametrize("url, why", [
    ("http://10.0.0.5:8000/v1", "not loopback"),
    ("http://192.168.1.20/v1", "not loopback"),
    ("http://169.254.169.254/latest", "link-local"),
    ("http://[fe80::1]:8000/v1", "link-local"),
    ("http://[::ffff:169.254.169.254]/v1", "link-local"),
    ("http://0.0.0.0:8000/v1", "unspecified"),
    ("http://[::]:8000/v1", "unspecified"),
    ("http://224.0.0.1/v1", "multicast"),
    ("http://2852039166/v1", "dotted decimal"),  # 169.254.169.254 to a resolver
    ("http://2130706433:6379/", "dotted decimal"),  # 127.0.0.1
    ("http://0x7f.1/v1", "dotted decimal"),
    ("http://0177.0.0.1/v1", "dotted decimal"),
    ("http://gpu-1:8000/v1", "not loopback"),  # a name an operator has not listed
    ("http://metadata.google.internal/v1", "not loopback"),
    ("http://127.0.0.1:99999/v1", "port"),
])
def test_without_allowed_hosts_only_loopback_is_accepted(settings, ml, url, why):
    settings.POLICY_ALLOWED_HOSTS = []
    r = ml.post("/api/connections/", {"name": "x", "settings": {"base_url": url, "model": "m"}}, content_type=JSON)
    assert r.status_code == 400 and why in r.content.decode(), (url, r.content)
    assert not PolicyConnection.objects.exists()


@pytest.mark.django_db
def test_loopback_passes_and_listing_hosts_replaces_the_default(settings):
    settings.POLICY_ALLOWED_HOSTS = []
    for url in ("http://127.0.0.1:8000/v1", "http://127.9.9.9/v1", "http://[::1]:8000/v1", "http://localhost:1/v1",
                "http://LOCALHOST.:1/v1"):
        assert connection.check_base_url(url)
    settings.POLICY_ALLOWED_HOSTS = ["gpu-1:8000", "[::1]:9000"]
    assert connection.check_base_url("http://gpu-1:8000/v1") and connection.check_base_url("http://[::1]:9000/v1")
    for url in ("http://127.0.0.1:8000/v1", "http://[::1]:8000/v1"):  # listing hosts: loopback is listed or refused
        with pytest.raises(ConnectionConfigError, match="not in POLICY_ALLOWED_HOSTS"):
            connection.parse({"base_url": url})
    settings.POLICY_ALLOWED_HOSTS, settings.POLICY_BASE_URL = [], "http://gpu-1:8000/v1"  # the operator's own
    assert connection.check_base_url("http://gpu-1:8000/v1") and connection.check_base_url("http://127.0.0.1:1/v1")
    with pytest.raises(ConnectionConfigError, match="not loopback"):
        connection.parse({"base_url": "http://gpu-1:9000/v1"})
    settings.POLICY_ALLOWED_HOSTS = ["169.254.169.254"]  # listed or not, a metadata address never passes
    with pytest.raises(ConnectionConfigError, match="link-local"):
        connection.parse({"base_url": "http://169.254.169.254/v1"})


def _addresses(*texts):
    return [ipaddress.ip_address(t) for t in texts]


@pytest.mark.django_db
def test_what_a_name_resolves_to_is_checked(settings):
    """The decision on resolved addresses, and a real lookup of names this machine's hosts file knows
    (no DNS query: localhost resolves from /etc/hosts)."""
    from activelearn.policy import hosts

    settings.POLICY_ALLOWED_HOSTS = []
    hosts.check_addresses("localhost", 8000, _addresses("127.0.0.1", "::1"))
    for addrs, why in [(("127.0.0.1", "10.0.0.5"), "not a loopback address"),
                       (("192.168.0.9",), "not a loopback address"),
                       (("169.254.169.254",), "link-local"), (("fe80::1",), "link-local"),
                       (("::ffff:169.254.169.254",), "link-local"), (("ff02::1",), "multicast")]:
        with pytest.raises(ValueError, match=why):
            hosts.check_addresses("evil", 8000, _addresses(*addrs))
    settings.POLICY_ALLOWED_HOSTS = ["gpu.example.org"]  # a listed name may be a private GPU box, never metadata
    hosts.check_addresses("gpu.example.org", 8000, _addresses("10.0.0.5"))
    with pytest.raises(ValueError, match="link-local"):
        hosts.check_addresses("gpu.example.org", 8000, _addresses("10.0.0.5", "169.254.169.254"))
    settings.POLICY_ALLOWED_HOSTS = []
    hosts.check_resolved("localhost", 8000)  # a real lookup (the hosts file)


@pytest.mark.django_db
def test_a_stored_url_is_checked_again_where_the_request_leaves(settings):
    """A connection stored before the allow-list changed (or behind the API's back) makes no client:
    refused before anything is sent."""
    loopback = connection.parse({"base_url": "http://127.0.0.1:9/v1", "model": "m"})
    with pytest.raises(PolicyError, match="may not be reached: host 10.1.2.3 is not loopback"):
        PolicyClient(Connection("old", {**loopback, "base_url": "http://10.1.2.3:8000/v1"}))
    settings.POLICY_ALLOWED_HOSTS = ["gpu-1:8000"]
    with pytest.raises(PolicyError, match="not in POLICY_ALLOWED_HOSTS"):
        PolicyClient(Connection("old", loopback))


@pytest.mark.django_db
def test_a_run_on_a_connection_that_may_no_longer_reach_its_host_fails_before_sending(settings, recorders):
    server = recorders()
    queued_solutions(1)
    PolicyConnection.objects.create(name="was-ok", settings=connection.parse(
        {"base_url": server.base_url, "model": "m", "endpoint": "chat"}))
    run = runs.start_run("was-ok-run", "judge", {"connection": "was-ok"}, {})
    settings.POLICY_ALLOWED_HOSTS = ["gpu-1:8000"]  # the operator narrowed the list since
    with pytest.raises(ConnectionConfigError, match="not in POLICY_ALLOWED_HOSTS"):
        runs.run_chunk(run, run.params["solution_ids"])
    assert server.seen == []


@pytest.mark.django_db
def test_generation_and_rollouts_refuse_a_redirect_too(recorders, settings):
    """The same client serves every path out: a generation's sampling and a rollout's continuations."""
    from activelearn.labellers.completers import PolicyCompleter

    allowed, elsewhere = recorders(), recorders()
    settings.POLICY_ALLOWED_HOSTS = [f"localhost:{allowed.port}"]
    allowed.reply = (308, {"Location": f"http://127.0.0.1:{elsewhere.port}/v1/completions"}, "{}")
    conn = Connection("hop", connection.parse({"base_url": f"http://localhost:{allowed.port}/v1", "model": "m",
                                               "max_retries": 0}))
    with pytest.raises(PolicyError, match="redirect"):
        PolicyClient(conn).sample(1, "What is 2+2?", [0, 1])
    solution = queued_solutions(1)[0]
    with pytest.raises(PolicyError, match="redirect"):
        PolicyCompleter(conn).answers(solution, 1, 2)
    assert len(allowed.seen) == 2 and elsewhere.seen == []


@pytest.mark.django_db
def test_a_connection_that_can_no_longer_be_used_is_listed_with_why(settings, ml):
    """Upgrading to the loopback default (or narrowing the list) leaves stored connections that may not be
    used: they are shown, with the reason, and the list does not fail on them."""
    PolicyConnection.objects.create(name="gpu", settings=connection.parse({"base_url": "http://127.0.0.1:8000/v1",
                                                                           "model": "m"}) | {
        "base_url": "http://gpu-1:8000/v1"})
    r = ml.get("/api/connections/")
    assert r.status_code == 200, r.content
    gpu = next(c for c in r.json() if c["name"] == "gpu")
    assert gpu["problem"].startswith("base_url: host gpu-1 is not loopback") and gpu["api_key_set"] is False
    assert next(c for c in r.json() if c["name"] == "demo")["problem"] == ""
    settings.POLICY_ALLOWED_HOSTS = ["gpu-1:8000"]
    assert ml.get("/api/connections/gpu/").json()["problem"] == ""
