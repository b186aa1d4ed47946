"""The fast step check and the detailed one (which words the error) always agree."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeling.formats import prm800k
from labeling.formats.errors import RecordError

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False), st.text(max_size=3))
completion = st.one_of(
    scalars,
    st.fixed_dictionaries({"text": st.one_of(st.text(max_size=5), scalars), "rating": scalars, "flagged": scalars}),
    st.fixed_dictionaries({"text": st.text(max_size=5), "rating": st.sampled_from([-1, 0, 1, None]),
                           "flagged": st.sampled_from([None, True, False])}),
)
step = st.one_of(
    scalars,
    st.fixed_dictionaries({
        "completions": st.one_of(st.lists(completion, max_size=3), scalars),
        "human_completion": st.one_of(st.none(), completion,
                                      st.fixed_dictionaries({"text": st.text(max_size=3), "rating": st.none(),
                                                             "source": st.sampled_from(["human", "bot"]),
                                                             "flagged": st.booleans()})),
        "chosen_completion": st.one_of(st.none(), st.integers(-1, 3), st.booleans(), st.text(max_size=1)),
    }),
)


@settings(max_examples=400, deadline=None)
@given(step)
def test_fast_and_detailed_checks_agree(s):
    ok = prm800k._step_ok(s)
    try:
        prm800k._explain_step(s, "label.steps[0]")
    except RecordError:
        assert not ok
    except AssertionError:
        assert ok  # the detailed check found nothing wrong: so must the fast one
    else:  # pragma: no cover
        pytest.fail("_explain_step must raise")
