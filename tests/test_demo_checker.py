"""The demo domain's checker: a program that rates every step, and agrees with what the generator injected."""
import json
import random
from collections import Counter

from django.core.management import call_command

from labeling.demo import checker
from labeling.demo import problems as demo_problems
from labeling.demo import sampling as demo_sampling

KNOWN = checker.known_values("A shop has 12 boxes of 8 pens and sells 30 of them. How many are left?",
                             [["There are $12 \\times 8 = 96$ pens.", "So $96 - 30 = 66$ are left.\n\n# Answer\n\n66"]])


def test_each_rule_by_hand():
    assert checker.check_step("First I'll count the pens.", KNOWN) == (0, "claims nothing")
    assert checker.check_step("There are $12 \\cdot 8 = 96$ pens.", KNOWN)[0] == 1
    rating, why = checker.check_step("There are $12 \\times 8 = 94$ pens.", KNOWN)
    assert rating == -1 and "94" in why  # a false product (94 is no value a correct solution has either)
    assert checker.check_step("There are $13 \\times 8 = 104$ pens.", KNOWN)[0] == -1  # misread 12 as 13
    rating, why = checker.check_step("There are $12 + 8 = 20$ pens.", KNOWN)
    assert rating == -1 and why.startswith("reaches 20")  # a true sum, the wrong operation
    assert checker.check_step("So $96 - 30 = 66$ are left.\n\n# Answer\n\n66", KNOWN)[0] == 1
    assert checker.check_step("So 66 are left.\n\n# Answer\n\n67", KNOWN)[0] == -1  # the answer is a claim
    assert checker.check_step("Half: $\\frac{96}{2} = 48$.", KNOWN)[0] == -1  # 48: no correct solution has it


def test_evaluate_reads_the_latex_the_solutions_write():
    assert checker.evaluate("\\frac{3 \\times 4}{2 \\times 4}") == checker.Fraction(3, 2)
    assert checker.evaluate("(-3) \\cdot 4 + 20 \\div 5") == -8
    assert checker.evaluate("5x") is None and checker.evaluate("n(n+1)") is None
    assert checker.evaluate("2 ** 1000") is None  # arithmetic only, nothing a caller could abuse
    assert checker.evaluate("1 / 0") is None


def test_checker_finds_every_injected_error_and_flags_no_correct_step():
    kinds, ratings_seen, wrong_answer_after_error = Counter(), Counter(), 0
    for i in range(48):
        family = demo_problems.FAMILIES[i % len(demo_problems.FAMILIES)]
        spec = family.make(random.Random(f"checker:{i}"))
        known = demo_problems.known_values(family, spec)
        for k in range(32):  # 32 samples per problem, as a round would draw
            w = demo_sampling.sample(family, spec, f"checker:{i}:{k}")
            ratings = checker.check(w.steps, known)
            ratings_seen.update(ratings)
            kinds[w.made] += 1
            assert checker.first_error(ratings) == w.first_error, (w.made, ratings, w.steps)
            if w.made is None:
                assert w.answer_value == demo_problems.as_num(spec.answer)
            elif w.made != "aside":
                assert w.answer_value != demo_problems.as_num(spec.answer)
                wrong_answer_after_error += 1
    assert set(kinds) == {None, *demo_problems.SLIP_KINDS}, kinds
    assert kinds[None] > 0.5 * sum(kinds.values())  # mostly right, as a decent policy
    assert kinds["aside"] >= 20 and kinds["misread"] >= 40 and kinds["operation"] >= 20, kinds
    assert ratings_seen[0] > 100 and ratings_seen[-1] > 400 and wrong_answer_after_error > 300, ratings_seen


def test_the_small_operand_domain_keeps_the_checker_exact_and_its_products_in_the_times_table():
    """The benchmarks' small-operand variant (issue 26, item 4): the same slips, the checker finds each one,
    and nearly every product is of one-digit factors (the rest one-digit times two-digit)."""
    import re

    records = list(demo_sampling.records(40, 12, 0, domain="small"))
    assert {r["unique_id"].split("/")[1] for r in records} == {f.name for f in demo_problems.SMALL_FAMILIES}
    kinds = Counter(r["kind"] for r in records)
    assert kinds[None] > 0.4 * len(records) and kinds["arithmetic"] > 50 and kinds["misread"] > 5, kinds
    for r in records:
        assert r["label"] == (-1 if r["generator_first_error"] is None else r["generator_first_error"])
    products = [tuple(map(int, m)) for r in records for s in r["steps"]
                for m in re.findall(r"(\d+) \\(?:times|cdot) \(?(\d+)", s)]
    assert len(products) > 200
    one_digit = sum(a < 10 and b < 10 for a, b in products) / len(products)
    assert one_digit > 0.8 and all(min(a, b) < 10 for a, b in products), one_digit
    assert demo_problems.spec_of({"family": "arith", "seed": 0, "index": 0, "attempt": 0})  # stored ones: full


def test_demo_records_command_writes_processbench_records_with_the_checkers_labels(tmp_path):
    out = tmp_path / "records.jsonl"
    with open(tmp_path / "log", "w") as log:
        call_command("demo_records", "--problems", "6", "--samples", "32", "--out", str(out), stdout=log)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 6 * 32 and len({r["unique_id"] for r in rows}) == 6
    for r in rows:
        fe = r["generator_first_error"]
        assert r["label"] == (-1 if fe is None else fe) and len(r["ratings"]) == len(r["steps"])
        assert r["final_answer_correct"] == (r["kind"] in (None, "aside"))
    assert 0.5 < sum(r["final_answer_correct"] for r in rows) / len(rows) < 0.8
    assert (tmp_path / "log").read_text().startswith("192 samples of 6 problems")
