"""Label Studio's side of bench/peer.py, run by Label Studio's own interpreter (its throwaway virtualenv).

    <ls-venv>/bin/python bench/peer_labelstudio.py setup --annotators 50     # prints one JSON line
    <ls-venv>/bin/python bench/peer_labelstudio.py check --acked FILE        # prints one JSON line

The environment names the database (POSTGRE_NAME and friends, DJANGO_DB=default) exactly as the server
gets it. ``setup`` creates an owner, one organization with legacy API tokens on (``Authorization: Token``,
the same kind of header Stepwise takes), one project that holds each solution once (maximum_annotations
1, the queue's overlap 1) and ``--annotators`` members, and prints their tokens. ``check`` reads back
what the annotators were told was saved (annotation ids, one per line in FILE) and the tasks annotated
more often than the project allows.

Imports nothing of Stepwise: this file runs where Stepwise is not installed.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# A solution's text with each step a span to label +1 / 0 / -1: what a PRM project looks like in Label Studio.
LABEL_CONFIG = """<View>
  <Header value="$problem"/>
  <Labels name="step" toName="solution" choice="single">
    <Label value="+1" background="green"/>
    <Label value="0" background="gray"/>
    <Label value="-1" background="red"/>
  </Labels>
  <Text name="solution" value="$solution" granularity="symbol"/>
</View>"""


def _django() -> None:
    import label_studio

    sys.path.insert(0, str(Path(label_studio.__file__).parent))  # as its manage.py and wsgi expect
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings.label_studio")
    import django

    django.setup()


def setup(annotators: int) -> dict:
    from django.db import transaction
    from organizations.functions import create_organization
    from organizations.models import OrganizationMember
    from projects.models import Project
    from rest_framework.authtoken.models import Token
    from users.models import User

    with transaction.atomic():
        owner = User.objects.create_superuser(email="bench-owner@example.org", password="bench-Secret-42")
        org = create_organization(title="bench", created_by=owner, legacy_api_tokens_enabled=True)
        owner.active_organization = org
        owner.save(update_fields=["active_organization"])
        project = Project.objects.create(title="PRM steps", organization=org, created_by=owner,
                                         label_config=LABEL_CONFIG, maximum_annotations=1)
        tokens = []
        for i in range(annotators):
            user = User.objects.create_user(email=f"bench-annotator-{i:04d}@example.org", password="bench-Secret-42")
            OrganizationMember.objects.create(user=user, organization=org)
            user.active_organization = org
            user.save(update_fields=["active_organization"])
            tokens.append(Token.objects.get_or_create(user=user)[0].key)
        owner_token = Token.objects.get_or_create(user=owner)[0].key
    return {"project": project.id, "owner_token": owner_token, "tokens": tokens}


def check(acked_file: Path) -> dict:
    from django.db import connection
    from projects.models import Project
    from tasks.models import Annotation, Task

    acked = [int(x) for x in acked_file.read_text().split()]
    project = Project.objects.get()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM (SELECT task_id FROM task_completion WHERE was_cancelled = false "
                    "GROUP BY task_id HAVING count(*) > %s) AS x", [project.maximum_annotations])
        over = cur.fetchone()[0]
    found = Annotation.objects.filter(id__in=acked).count()
    return {"tasks": Task.objects.count(), "annotations": Annotation.objects.count(), "acked": len(acked),
            "acked_found": found, "lost": len(set(acked)) - found, "acked_twice": len(acked) - len(set(acked)),
            "tasks_beyond_overlap": over}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="what", required=True)
    sub.add_parser("setup").add_argument("--annotators", type=int, required=True)
    sub.add_parser("check").add_argument("--acked", type=Path, required=True)
    args = p.parse_args()
    _django()
    out = setup(args.annotators) if args.what == "setup" else check(args.acked)
    print("PEER_RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
