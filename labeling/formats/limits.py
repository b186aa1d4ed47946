"""Limits that several paths share, read from settings when used (so an operator's value holds everywhere).

MAX_SOLUTION_STEPS: the most steps a solution may have. The submit takes at most this many ratings, so a solution
with more could never be finished: imports, generation and resegmentation refuse one (docs/security.md).
"""
from django.conf import settings
from django.core.exceptions import ValidationError


def max_steps() -> int:
    return settings.MAX_SOLUTION_STEPS


def steps_message(n: int) -> str:
    return (f"has {n} steps, more than the limit of {max_steps()} (MAX_SOLUTION_STEPS): "
            "no pass of it could be submitted")


def check_ratings(value: list) -> None:
    """A serializer validator: at most MAX_SOLUTION_STEPS ratings (a list field's max_length, read when used)."""
    if len(value) > max_steps():
        raise ValidationError(f"at most {max_steps()} ratings (MAX_SOLUTION_STEPS)")
