"""`project_menu` in every template for people who are signed in: their projects and the one chosen, for the
project switcher in base.html (lazy: the query runs when a template shows the menu)."""
from django.utils.functional import SimpleLazyObject

from labeling.people import projects
from labeling.switcher import ALL, SESSION_KEY


def project_menu(request) -> dict:
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {}

    def menu() -> dict:
        mine = list(projects.visible_to(user).order_by("id").values("slug", "name", "role"))
        chosen = request.session.get(SESSION_KEY)
        if chosen != ALL and chosen not in {p["slug"] for p in mine}:
            chosen = mine[0]["slug"] if mine else None
        current = next((p for p in mine if p["slug"] == chosen), None)
        return {"projects": mine, "chosen": chosen, "all": ALL,
                "can_configure": bool(current) and (user.is_superuser or current["role"] == "admin")}

    return {"project_menu": SimpleLazyObject(menu)}
