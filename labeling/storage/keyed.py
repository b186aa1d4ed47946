"""A row made once under its unique `key`: the one made earlier, else `make()`'s; a maker that loses a race
(IntegrityError on the key) gets the winner's row. Runs of every kind start this way (activelearn.runs, the
demo agent checker's label runs)."""
from collections.abc import Callable

from django.db import IntegrityError, transaction


def once(model, key: str, make: Callable[[], object]):
    row = model.objects.filter(key=key).first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            return make()
    except IntegrityError:  # made at the same moment elsewhere
        return model.objects.get(key=key)
