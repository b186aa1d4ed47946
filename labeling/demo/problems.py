"""Generated demo problems and solutions (pure: no database).

Problems come from a seeded generator (no external data). Each candidate solution is
written step by step through a `Writer`; a wrong one makes one slip (SLIP_KINDS): a false
calculation (``$7 \\times 8 = 54$``), a misread number, a wrong operation, a skipped term, or a
false re-check before a right answer. Later steps compute correctly from the wrong value, the
way a model's real mistake carries forward. `Solution.extra["demo_first_error"]` is the index of
the slip's step (None for a sound solution) and `demo_kind` its kind; labeling/demo/checker.py
finds the same step from the text alone, and every slip is one it finds (`detectable`).
"""
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import partial

from labeling.demo import checker

GENERATOR = "stepwise-demo"
SOURCE_PREFIX = "demo"
ANSWER_MARK = "\n\n# Answer\n\n"  # PRM800K convention for the last step
TIMES, CDOT, DIV = "\\times", "\\cdot", "\\div"

Num = int | Fraction


# --- LaTeX -------------------------------------------------------------------

def tex(v: Num) -> str:
    v = Fraction(v)
    if v.denominator == 1:
        return str(v.numerator)
    sign = "-" if v < 0 else ""
    return f"{sign}\\frac{{{abs(v.numerator)}}}{{{v.denominator}}}"


def par(v: Num) -> str:
    """A number as an operand: negatives in parentheses, as people write them."""
    return f"({tex(v)})" if v < 0 else tex(v)


def frac(num: Num | str, den: Num | str) -> str:
    return f"\\frac{{{num}}}{{{den}}}"


def as_num(v: Num) -> Num:
    v = Fraction(v)
    return v.numerator if v.denominator == 1 else v


# --- Writing one solution ------------------------------------------------------

class Writer:
    """Writes one solution's steps and, when asked, slips on exactly one computation.

    Every computed number goes through `calc`, so a wrong value flows into every later
    step; the first step written after the slip is recorded as the first error. Each
    `calc` result must be stated, as `lhs = value`, in the very next step.
    """

    def __init__(self, style_seed: str, slip_at: int | None = None, slip_seed: str = "", kind: str = "arithmetic"):
        self.rng = random.Random(style_seed)  # wording only: the same for every slip tried
        self._slip_rng = random.Random(f"slip:{slip_seed}")
        self.slip_at = slip_at
        self.kind = kind  # the slip to make at slip_at (SLIP_KINDS); arithmetic where that kind has no option
        self.made: str | None = None  # the kind of slip made
        self.claims: list[tuple[str, Num, int]] = []  # (left-hand side, value, step) of each sound claim
        self.stated: list[tuple[str, Num, int]] = []  # the same of every claim, sound or not
        self.ops = 0
        self.steps: list[str] = []
        self.first_error: int | None = None
        self.answer: str | None = None
        self.answer_value: Num | None = None
        self.odd_value = False  # a carried-forward value a solver would not accept (negative count, fraction)
        self._slipped = False

    @property
    def careful(self) -> bool:
        """Any solution may verify its answer, a wrong one too (and then wrongly claims that it matches): were
        verifying a mark of right solutions, it would give the outcome away (docs/model-and-rounds.md)."""
        return True

    def pick(self, *options):
        return self.rng.choice(options)

    def step(self, text: str) -> None:
        if self._slipped and self.first_error is None:
            self.first_error = len(self.steps)
        self.steps.append(text)

    def finish(self, text: str, answer: Num) -> None:
        self.answer, self.answer_value = tex(answer), as_num(answer)
        self.step(f"{text}{ANSWER_MARK}{self.answer}")

    def calc(self, value: Num, *, factors: tuple = (), terms: tuple = (), signed: bool = False,
             ok: Callable[[Num], bool] | None = None) -> Num:
        value = as_num(value)
        i, self.ops = self.ops, self.ops + 1
        wrong = self._wrong(value, factors, terms, signed, ok or (lambda v: True)) if i == self.slip_at else None
        if wrong is not None:  # None: no believable slip here, the caller tries another computation
            self._slipped, value, self.made = True, wrong, "arithmetic"
        if (value < 0 and not signed) or isinstance(value, Fraction):
            self.odd_value = True
        return value

    def _claim(self, lhs: str, value: Num) -> str:
        self.stated.append((lhs, value, len(self.steps)))
        if not self._slipped:
            self.claims.append((lhs, value, len(self.steps)))
        return f"{lhs} = {tex(value)}"

    def _other(self, true_value: Num, options: dict, signed: bool, ok: Callable | None) -> tuple[str, Num] | None:
        """At the slip point, a slip that is no arithmetic mistake: `options[kind]` lists (left-hand
        side, its true value) that a model might write instead (a misread number, a wrong operation,
        a skipped term). The equation it states is true; what is wrong is what it computes."""
        if self.ops != self.slip_at or self.kind == "arithmetic":
            return None
        found = [(lhs, as_num(v)) for lhs, v in options.get(self.kind, [])
                 if as_num(v) != true_value and (ok is None or ok(as_num(v))) and (signed or v > 0)
                 and (Fraction(v).denominator == 1 or isinstance(true_value, Fraction))]
        if not found:
            return None  # calc slips in arithmetic instead
        lhs, v = self._slip_rng.choice(found)
        self.ops += 1
        self._slipped, self.made = True, self.kind
        return lhs, v

    def _misread(self, v: Num) -> list[Num]:
        """Numbers a careless reader copies instead of `v`: a neighbour, swapped digits, a dropped or added ten."""
        if not isinstance(v, int):
            return []
        out = [v + d for d in (-2, -1, 1, 2, 10, -10)]
        if abs(v) >= 10 and str(abs(v))[-1] != str(abs(v))[-2]:
            s = str(abs(v))
            out.append(int(s[:-2] + s[-1] + s[-2]) * (1 if v > 0 else -1))
        return [m for m in out if m > 0 or v < 0]

    def _wrong(self, value: Num, factors: tuple, terms: tuple, signed: bool, ok: Callable) -> Num | None:
        # The usual slips: a times-table neighbour, a dropped term, a sign, swapped digits, off by a little.
        kinds = {"off": [value + d for d in (-10, -3, -2, -1, 1, 2, 3, 10)]}
        if len(factors) == 2:
            a, b = factors
            kinds["product"] = [value + a, value - a, value + b, value - b]
        if len(terms) >= 3:
            kinds["dropped"] = [value - t for t in terms]
        if signed and value != 0:
            kinds["sign"] = [-value]
        if isinstance(value, int) and abs(value) >= 10 and str(value)[-1] != "0":
            s = str(abs(value))
            kinds["digits"] = [int(s[:-2] + s[-1] + s[-2]) * (1 if value > 0 else -1)]
        for kind in self._slip_rng.sample(sorted(kinds), len(kinds)):
            good = [v for v in kinds[kind] if v != value and ok(v) and (signed or v > 0)]
            if good:
                return self._slip_rng.choice(good)
        offsets = [d * s for d in range(1, 60) for s in (1, -1)]
        return next((value + d for d in offsets if ok(value + d) and (signed or value + d > 0)), None)

    # Claims: each returns (value, "expression = value") ready to put in math mode.

    def mul(self, a: Num, b: Num, **kw) -> tuple[Num, str]:
        sign = self.pick(TIMES, TIMES, CDOT)
        times = lambda x, y: f"{par(x)} {sign} {par(y)}"  # noqa: E731
        other = self._other(as_num(a * b), {
            "misread": [(times(m, b), m * b) for m in self._misread(a)] + [(times(a, m), a * m)
                                                                           for m in self._misread(b)],
            "operation": [(f"{tex(a)} + {par(b)}", a + b)]}, kw.get("signed", False), kw.get("ok"))
        if other:
            return other[1], self._claim(*other)
        v = self.calc(a * b, factors=(a, b), **kw)
        return v, self._claim(times(a, b), v)

    def add(self, *terms: Num, **kw) -> tuple[Num, str]:
        plus = lambda ts: " + ".join([tex(ts[0]), *map(par, ts[1:])])  # noqa: E731
        options = {"misread": [(plus(terms[:k] + (m,) + terms[k + 1:]), sum(terms) - t + m)
                               for k, t in enumerate(terms) for m in self._misread(t)],
                   "skip": [(plus(terms[:k] + terms[k + 1:]), sum(terms) - t) for k, t in enumerate(terms)]
                   if len(terms) >= 3 else []}
        if len(terms) == 2:
            options["operation"] = [(f"{par(terms[0])} {TIMES} {par(terms[1])}", terms[0] * terms[1]),
                                    (f"{tex(terms[0])} - {par(terms[1])}", terms[0] - terms[1])]
        other = self._other(as_num(sum(terms)), options, kw.get("signed", False), kw.get("ok"))
        if other:
            return other[1], self._claim(*other)
        v = self.calc(sum(terms), terms=terms, **kw)
        return v, self._claim(plus(terms), v)

    def sub(self, a: Num, b: Num, **kw) -> tuple[Num, str]:
        minus = lambda x, y: f"{tex(x)} - {par(y)}"  # noqa: E731
        other = self._other(as_num(a - b), {
            "misread": [(minus(m, b), m - b) for m in self._misread(a)] + [(minus(a, m), a - m)
                                                                           for m in self._misread(b)],
            "operation": [(f"{tex(a)} + {par(b)}", a + b)]}, kw.get("signed", False), kw.get("ok"))
        if other:
            return other[1], self._claim(*other)
        v = self.calc(a - b, **kw)
        return v, self._claim(minus(a, b), v)

    def div(self, a: Num, b: Num, **kw) -> tuple[Num, str]:
        lhs = frac(tex(a), tex(b)) if self.pick(True, False) else f"{tex(a)} {DIV} {par(b)}"
        v = self.calc(Fraction(a, b), **kw)
        return v, self._claim(lhs, v)


# --- Problem families ------------------------------------------------------------

@dataclass
class Spec:
    text: str
    answer: Num
    level: int
    params: dict


@dataclass(frozen=True)
class Family:
    name: str
    subject: str
    make: Callable[[random.Random], Spec]
    solve: Callable[[dict, Writer], None]


NAMES = [("Maya", "she"), ("Omar", "he"), ("Lena", "she"), ("Kofi", "he"), ("Priya", "she"), ("Tomás", "he"),
         ("Aiko", "she"), ("Daniel", "he"), ("Zara", "she"), ("Ivan", "he")]


def lead(w: Writer, *options: str) -> None:
    """An optional opening remark: real solutions often restate the plan first (a neutral step)."""
    text = w.pick(None, None, *options)
    if text:
        w.step(text)


# Arithmetic word problems: groups of items with some removed, or a purchase and its change.

STOCK = [
    dict(who="A baker", pron="she", fill="bakes {a} trays of rolls with {b} rolls on each tray", item="rolls",
         group="trays", gone="sold", verb="sells"),
    dict(who="A librarian", pron="he", fill="unpacks {a} boxes that hold {b} books each", item="books",
         group="boxes", gone="lent out", verb="lends out"),
    dict(who="A farmer", pron="she", fill="packs {a} cartons with {b} eggs in every carton", item="eggs",
         group="cartons", gone="sold", verb="sells"),
    dict(who="A school office", pron="it", fill="orders {a} boxes of pencils, {b} pencils to a box", item="pencils",
         group="boxes", gone="handed out", verb="hands out"),
    dict(who="A print shop", pron="it", fill="prints {a} bundles of {b} flyers", item="flyers",
         group="bundles", gone="given away", verb="gives away"),
]
TIMES_OF_DAY = ["in the morning", "around noon", "in the afternoon", "in the evening"]
GOODS = [("notebooks", 3, 9), ("pens", 1, 4), ("folders", 2, 6), ("erasers", 1, 3), ("markers", 2, 5),
         ("sketchbooks", 6, 15), ("rulers", 2, 4)]


def make_arith(rng: random.Random, small: bool = False) -> Spec:
    return make_stock(rng, small) if rng.random() < 0.5 else make_shopping(rng, small)


def make_stock(rng: random.Random, small: bool = False) -> Spec:
    s = rng.choice(STOCK)
    a, b = (rng.randint(3, 9), rng.randint(3, 9)) if small else (rng.randint(12, 48), rng.randint(6, 24))
    total = a * b
    n_out = rng.choice([2, 2, 3])
    outs = [rng.randint(max(1, total // 10), max(1, total // (n_out + 1))) for _ in range(n_out)]
    when = sorted(rng.sample(range(len(TIMES_OF_DAY)), n_out))
    whens = [TIMES_OF_DAY[t] for t in when]
    parts = [f"{o} {t}" for o, t in zip(outs, whens, strict=True)]
    listed = ", ".join(parts[:-1]) + f" and {parts[-1]}"
    question = rng.choice([f"How many {s['item']} are left?", f"How many {s['item']} does {s['pron']} still have?",
                           f"How many {s['item']} remain at the end of the day?"])
    text = (f"{s['who']} {s['fill'].format(a=a, b=b)}. During the day {s['pron']} {s['verb']} {listed}. "
            f"{question}")
    params = dict(shape="stock", s=s, a=a, b=b, outs=outs, whens=whens)
    return Spec(text, total - sum(outs), 1 if n_out == 2 else 2, params)


def make_shopping(rng: random.Random, small: bool = False) -> Spec:
    name, pron = rng.choice(NAMES)
    goods = rng.sample(GOODS, rng.choice([2, 2, 3]))
    lines = [(rng.randint(2, 9), item, rng.randint(lo, min(hi, 9) if small else hi)) for item, lo, hi in goods]
    cost = sum(n * p for n, _, p in lines)
    step = 10 if small else 50
    paid = (cost // step + 1) * step
    bought = ", ".join(f"{n} {item} at {p} dollars each" for n, item, p in lines[:-1])
    n, item, p = lines[-1]
    text = (f"{name} buys {bought} and {n} {item} at {p} dollars each. {pron.capitalize()} pays with "
            f"{paid} dollars. How many dollars of change should {pron} get back?")
    return Spec(text, paid - cost, len(lines), dict(shape="shopping", pron=pron, lines=lines, paid=paid))


def solve_arith(p: dict, w: Writer) -> None:
    (solve_stock if p["shape"] == "stock" else solve_shopping)(p, w)


def solve_stock(p: dict, w: Writer) -> None:
    s, item = p["s"], p["s"]["item"]
    lead(w, f"First I'll find how many {item} there are to begin with.",
         f"Let's count the {item} before any are {s['gone']}.")
    total, claim = w.mul(p["a"], p["b"])
    w.step(w.pick(f"There are ${claim}$ {item} in total.",
                  f"{p['a']} {s['group']} with {p['b']} {item} each make ${claim}$ {item}.",
                  f"The starting number of {item} is ${claim}$."))
    outs = p["outs"]
    if w.pick("together", "one by one") == "together":
        out, claim = w.add(*outs)
        w.step(w.pick(f"Altogether ${claim}$ {item} are {s['gone']}.",
                      f"The number {s['gone']} during the day is ${claim}$."))
        left, claim = w.sub(total, out)
        w.finish(w.pick(f"So ${claim}$ {item} are left.", f"That leaves ${claim}$ {item}."), left)
        return
    left = total
    for k, (out, when) in enumerate(zip(outs, p["whens"], strict=True)):
        left, claim = w.sub(left, out)
        if k < len(outs) - 1:
            w.step(w.pick(f"After the {out} {s['gone']} {when}, ${claim}$ remain.",
                          f"Taking away the {out} {when} leaves ${claim}$ {item}."))
        else:
            w.finish(w.pick(f"After the last {out} are {s['gone']}, ${claim}$ {item} are left.",
                            f"Finally ${claim}$, so {tex(left)} {item} remain."), left)


def solve_shopping(p: dict, w: Writer) -> None:
    lead(w, "I need the total cost first, then subtract it from the amount paid.",
         "The change is what was paid minus what everything costs.")
    costs = []
    for n, item, price in p["lines"]:
        cost, claim = w.mul(n, price)
        costs.append(cost)
        w.step(w.pick(f"The {item} cost ${claim}$ dollars.", f"For the {item}: ${claim}$ dollars.",
                      f"{n} {item} at {price} dollars each come to ${claim}$ dollars."))
    total, claim = w.add(*costs)
    w.step(w.pick(f"The total is ${claim}$ dollars.", f"Adding these up gives ${claim}$ dollars.",
                  f"Everything together costs ${claim}$ dollars."))
    change, claim = w.sub(p["paid"], total)
    w.finish(w.pick(f"The change is ${claim}$ dollars.",
                    f"So {p['pron']} gets back ${claim}$ dollars."), change)


# Linear equations in one unknown.

def side(coef: int, const: int) -> str:
    """`coef`x + `const` as written by hand: `x - 3`, `4x + 5`."""
    x = "x" if coef == 1 else f"{coef}x"
    return f"{x} - {-const}" if const < 0 else f"{x} + {const}"


def divisible_by(k: int) -> Callable[[Num], bool]:
    # keeps a slip before the last division from turning x into a fraction
    return lambda v: v != 0 and v % k == 0


def make_linear(rng: random.Random, small: bool = False) -> Spec:
    x = rng.choice([v for v in range(1 if small else -9, 10 if small else 16) if v])
    a, b = rng.randint(2, 9), rng.randint(1, 9 if small else 30)
    form = rng.choice(["plus", "minus", "bracket", "both"])
    params = dict(form=form, a=a, b=b)
    if form == "both":
        a = params["a"] = rng.randint(4, 9)
        d = params["d"] = rng.randint(1, a - 2)
        e = params["e"] = a * x + b - d * x
        return Spec(linear_text(rng, f"{side(a, b)} = {side(d, e)}"), x, 3, params)
    c = params["c"] = {"plus": a * x + b, "minus": a * x - b, "bracket": a * (x + b)}[form]
    eq = {"plus": f"{a}x + {b} = {c}", "minus": f"{a}x - {b} = {c}", "bracket": f"{a}(x + {b}) = {c}"}[form]
    words = {"plus": f"If you multiply a number by {a} and then add {b}, you get {c}.",
             "minus": f"Multiplying a number by {a} and subtracting {b} gives {c}."}.get(form)
    return Spec(linear_text(rng, eq, words), x, 2 if form == "bracket" else 1, params)


def linear_text(rng: random.Random, eq: str, words: str | None = None) -> str:
    options = [f"Solve for $x$: ${eq}$.", f"Find $x$ if ${eq}$.", f"What value of $x$ satisfies ${eq}$?"]
    if words:
        options.append(f"{words} What is the number?")
    return rng.choice(options)


def solve_linear(p: dict, w: Writer) -> None:
    a, b, form = p["a"], p["b"], p["form"]
    lead(w, "I want to get $x$ by itself on one side.", "Let the unknown number be $x$ and isolate it.")
    if form == "plus":
        ax, claim = w.sub(p["c"], b, signed=True, ok=divisible_by(a))
        w.step(w.pick(f"Subtract {b} from both sides: ${a}x = {claim}$.",
                      f"Taking {b} away from both sides gives ${a}x = {claim}$."))
    elif form == "minus":
        ax, claim = w.add(p["c"], b, signed=True, ok=divisible_by(a))
        w.step(w.pick(f"Add {b} to both sides: ${a}x = {claim}$.", f"Adding {b} to each side, ${a}x = {claim}$."))
    elif form == "bracket":
        ab, claim = w.mul(a, b, ok=lambda v: (p["c"] - v) % a == 0 and p["c"] != v)
        w.step(w.pick(f"Expand the bracket. Since ${claim}$, the equation is ${side(a, ab)} = {p['c']}$.",
                      f"Distributing, ${claim}$, so ${side(a, ab)} = {p['c']}$."))
        ax, claim = w.sub(p["c"], ab, signed=True, ok=divisible_by(a))
        w.step(f"Subtract {ab} from both sides: ${a}x = {claim}$.")
    else:
        d, e = p["d"], p["e"]
        k, claim = w.sub(a, d, ok=lambda v: v > 1 and (e - b) % v == 0 and e != b)
        d_x = "x" if d == 1 else f"{d}x"
        w.step(w.pick(f"Subtract ${d_x}$ from both sides. Since ${claim}$, we get ${side(k, b)} = {e}$.",
                      f"Collect the $x$ terms on the left: ${claim}$, so ${side(k, b)} = {e}$."))
        ax, claim = w.sub(e, b, signed=True, ok=divisible_by(k))
        w.step(f"Now subtract {b} from both sides: ${k}x = {claim}$.")
        a = k
    x, claim = w.div(ax, a, signed=True)
    if w.careful and w.pick(True, False):
        w.step(f"Dividing both sides by {a}: $x = {claim}$.")
        w.step(f"Check: substituting back, {linear_check(p, x)}, which matches.")
        w.finish(f"The solution is $x = {tex(x)}$.", x)
    else:
        w.finish(w.pick(f"Dividing both sides by {a} gives $x = {claim}$.", f"So $x = {claim}$."), x)


def linear_check(p: dict, x: Num) -> str:
    a, b, form = p["a"], p["b"], p["form"]
    if form == "plus":
        return f"${a} {CDOT} {par(x)} + {b} = {tex(a * x + b)}$"
    if form == "minus":
        return f"${a} {CDOT} {par(x)} - {b} = {tex(a * x - b)}$"
    if form == "bracket":
        return f"${a} {CDOT} ({tex(x)} + {b}) = {tex(a * (x + b))}$"
    return f"both sides equal ${a} {CDOT} {par(x)} + {b} = {tex(a * x + b)}$"


# Percentages: a discount, two successive changes, or what percent one number is of another.

def make_percent(rng: random.Random) -> Spec:
    shape = rng.choice(["discount", "change", "share"])
    if shape == "discount":
        item = rng.choice(["jacket", "bicycle", "lamp", "pair of boots", "backpack", "desk chair"])
        r = rng.choice([10, 15, 20, 25, 30, 40, 50])
        price = rng.choice([v for v in range(20, 401, 20) if v * r % 100 == 0])
        text = rng.choice([f"A {item} costs {price} dollars. It goes on sale at {r}% off. What is the sale price "
                           f"in dollars?",
                           f"The regular price of a {item} is {price} dollars. How many dollars does it cost "
                           f"after a {r}% discount?"])
        return Spec(text, price - price * r // 100, 1, dict(shape=shape, r=r, price=price))
    if shape == "change":
        up, down = rng.choice([10, 20, 25, 50]), rng.choice([10, 20, 25, 50])
        start = rng.choice([v for v in range(200, 5001, 100) if v * (100 + up) * down % 10**4 == 0])
        mid = start * (100 + up) // 100
        what = rng.choice([("A town", "people", "population"), ("A club", "members", "membership"),
                           ("A shop", "customers a week", "weekly customer count")])
        text = (f"{what[0]} has {start} {what[1]}. Its {what[2]} grows by {up}% one year and then falls by {down}% "
                f"the next year. What is the {what[2]} after the two years?")
        return Spec(text, mid - mid * down // 100, 3, dict(shape=shape, start=start, up=up, down=down))
    n = rng.choice([20, 25, 40, 50, 60, 80, 120, 200])
    k = rng.choice([v for v in range(1, n) if v * 100 % n == 0 and math.gcd(v, n) > 1])
    group = rng.choice([("a class", "students", "walk to school"), ("an orchard", "trees", "are apple trees"),
                        ("a survey", "people asked", "said yes")])
    text = f"In {group[0]} of {n} {group[1]}, {k} {group[2]}. What percent is that?"
    return Spec(text, Fraction(k * 100, n), 2, dict(shape=shape, n=n, k=k))


def solve_percent(p: dict, w: Writer) -> None:
    shape = p["shape"]
    if shape == "discount":
        price, r = p["price"], p["r"]
        if w.pick(True, False):
            off = w.calc(Fraction(price * r, 100), factors=(price, r))
            w.step(w.pick(f"The discount is ${frac(r, 100)} {TIMES} {price} = {tex(off)}$ dollars.",
                          f"{r}% of {price} is ${price} {TIMES} {frac(r, 100)} = {tex(off)}$ dollars."))
            sale, claim = w.sub(price, off)
            w.finish(w.pick(f"The sale price is ${claim}$ dollars.", f"So it costs ${claim}$ dollars."), sale)
        else:
            keep, claim = w.sub(100, r)
            w.step(f"After {r}% off the buyer pays ${claim}$ percent of the price.")
            sale = w.calc(Fraction(price * keep, 100), factors=(price, keep))
            w.finish(f"That is ${frac(keep, 100)} {TIMES} {price} = {tex(sale)}$ dollars.", sale)
        return
    if shape == "change":
        lead(w, "I'll apply the two changes one at a time.", "The second percentage applies to the new value.")
        gain = w.calc(Fraction(p["start"] * p["up"], 100))
        w.step(f"The increase is ${frac(p['up'], 100)} {TIMES} {p['start']} = {tex(gain)}$.")
        mid, claim = w.add(p["start"], gain)
        w.step(w.pick(f"After the first year: ${claim}$.", f"So it becomes ${claim}$."))
        loss = w.calc(Fraction(mid * p["down"], 100))
        w.step(w.pick(f"The decrease is ${frac(p['down'], 100)} {TIMES} {tex(mid)} = {tex(loss)}$.",
                      f"{p['down']}% of {tex(mid)} is ${tex(mid)} {TIMES} {frac(p['down'], 100)} = {tex(loss)}$."))
        end, claim = w.sub(mid, loss)
        w.finish(w.pick(f"After the second year: ${claim}$.", f"That leaves ${claim}$."), end)
        return
    n, k = p["n"], p["k"]
    g = math.gcd(k, n)
    small = w.calc(k // g, ok=lambda v: math.gcd(v, n // g) == 1)
    w.step(w.pick(f"The fraction is ${frac(k, n)} = {frac(small, n // g)}$.",
                  f"As a fraction in lowest terms, ${frac(k, n)} = {frac(small, n // g)}$."))
    pct = w.calc(Fraction(small * 100, n // g))
    w.finish(w.pick(f"As a percent: ${frac(small, n // g)} {TIMES} 100 = {tex(pct)}$.",
                    f"Multiplying by 100 gives ${frac(small, n // g)} {TIMES} 100 = {tex(pct)}$ percent."), pct)


# Sums of arithmetic sequences.

def make_series(rng: random.Random) -> Spec:
    shape = rng.choice(["listed", "first_terms", "naturals"])
    if shape == "naturals":
        n = rng.randint(12, 80)
        text = rng.choice([f"Compute $1 + 2 + 3 + \\cdots + {n}$.",
                           f"What is the sum of all whole numbers from 1 to {n}?"])
        return Spec(text, n * (n + 1) // 2, 2, dict(shape=shape, n=n))
    a, d, n = rng.randint(1, 15), rng.randint(2, 9), rng.randint(8, 30)
    last = a + (n - 1) * d
    if shape == "listed":
        text = rng.choice([f"Find the sum ${a} + {a + d} + {a + 2 * d} + \\cdots + {last}$.",
                           f"What is the sum of the arithmetic sequence ${a}, {a + d}, {a + 2 * d}, \\ldots, {last}$?"])
    else:
        text = (f"An arithmetic sequence starts with {a} and each term is {d} more than the one before. "
                f"What is the sum of its first {n} terms?")
    return Spec(text, n * (a + last) // 2, 3, dict(shape=shape, a=a, d=d, n=n, last=last))


def solve_series(p: dict, w: Writer) -> None:
    if p["shape"] == "naturals":
        n = p["n"]
        lead(w, "Use the formula $\\frac{n(n+1)}{2}$ for the sum of the first $n$ whole numbers.",
             "The sum of $1, 2, \\ldots, n$ is $n(n+1)$ divided by 2.")
        n1, claim = w.add(n, 1)
        w.step(f"Here $n = {n}$, so $n + 1 = {claim}$.")
        prod, claim = w.mul(n, n1)
        w.step(f"Then $n(n+1) = {claim}$.")
        total, claim = w.div(prod, 2)
        w.finish(w.pick(f"Halving, ${claim}$.", f"The sum is ${claim}$."), total)
        return
    a, d, n = p["a"], p["d"], p["n"]
    if p["shape"] == "listed":
        span, claim = w.sub(p["last"], a, ok=lambda v: v % d == 0)
        w.step(w.pick(f"The common difference is {d}, and the terms span ${claim}$.",
                      f"Each term is {d} more than the last; from first to last term is ${claim}$."))
        steps, claim = w.div(span, d)
        w.step(f"That is ${claim}$ steps of {d}.")
        n, claim = w.add(steps, 1)
        w.step(w.pick(f"So there are ${claim}$ terms.", f"Counting the first term too, there are ${claim}$ terms."))
        last = p["last"]
    else:
        lead(w, "I'll find the last term, then average the first and last terms.")
        gap, claim = w.mul(n - 1, d)
        w.step(f"Term number {n} lies {n - 1} steps of {d} past the first term, and ${claim}$.")
        last, claim = w.add(a, gap)
        w.step(w.pick(f"So the last term is ${claim}$.", f"Term number {n} is ${claim}$."))
    pair, claim = w.add(a, last)
    w.step(w.pick(f"The first and last terms add to ${claim}$.", f"First plus last is ${claim}$."))
    prod, claim = w.mul(n, pair)
    w.step(f"Multiplying by the number of terms: ${claim}$.")
    total, claim = w.div(prod, 2)
    w.finish(w.pick(f"Dividing by 2, the sum is ${claim}$.", f"Half of that is ${claim}$."), total)


# Fractions: a sum or difference with unlike denominators, or a fraction of a quantity.

def make_fractions(rng: random.Random, small: bool = False) -> Spec:
    if rng.random() < 0.3:
        den = rng.choice([3, 4, 5, 6, 8])
        num = rng.choice([v for v in range(1, den) if math.gcd(v, den) == 1])
        total = den * rng.randint(2 if small else 4, 9 if small else 15)
        name, pron = rng.choice(NAMES)
        text = (f"{name} has {total} stickers and gives away ${frac(num, den)}$ of them. How many stickers does "
                f"{pron} have left?")
        return Spec(text, total - total * num // den, 1, dict(shape="of", num=num, den=den, total=total))
    while True:
        b, d = rng.sample([2, 3, 4, 5, 6, 8, 9, 10, 12], 2)
        a = rng.choice([v for v in range(1, b) if math.gcd(v, b) == 1])
        c = rng.choice([v for v in range(1, d) if math.gcd(v, d) == 1])
        if math.lcm(b, d) != max(b, d) or rng.random() < 0.3:  # mostly both fractions need rewriting
            break
    op = "-" if Fraction(a, b) > Fraction(c, d) and rng.random() < 0.4 else "+"
    value = Fraction(a, b) + (Fraction(c, d) if op == "+" else -Fraction(c, d))
    expr = f"{frac(a, b)} {op} {frac(c, d)}"
    text = rng.choice([f"Compute ${expr}$. Express your answer in simplest form.",
                       f"What is ${expr}$, written as a fraction in lowest terms?"])
    return Spec(text, value, 2, dict(shape="sum", a=a, b=b, c=c, d=d, op=op))


def solve_fractions(p: dict, w: Writer) -> None:
    if p["shape"] == "of":
        num, den, total = p["num"], p["den"], p["total"]
        part, claim = w.div(total, den)
        w.step(w.pick(f"${frac(1, den)}$ of {total} is ${claim}$.", f"First, ${claim}$."))
        given, claim = w.mul(part, num)
        w.step(w.pick(f"So ${frac(num, den)}$ of them is ${claim}$ stickers.", f"That makes ${claim}$ given away."))
        left, claim = w.sub(total, given)
        w.finish(w.pick(f"The number left is ${claim}$.", f"Remaining: ${claim}$ stickers."), left)
        return
    a, b, c, d, op = p["a"], p["b"], p["c"], p["d"], p["op"]
    den = math.lcm(b, d)
    w.step(w.pick(f"The least common denominator of {b} and {d} is {den}.",
                  f"Both denominators divide {den}, so rewrite over {den}."))
    nums = []
    for n, m in ((a, b), (c, d)):
        k = den // m
        if k == 1:
            nums.append(n)
            continue
        nn = w.calc(n * k, factors=(n, k))
        nums.append(nn)
        w.step(f"${frac(n, m)} = {frac(f'{n} {TIMES} {k}', f'{m} {TIMES} {k}')} = {frac(nn, den)}$.")
    n0, n1 = nums
    top = w.calc(n0 + n1 if op == "+" else n0 - n1, terms=tuple(nums))
    w.step(w.pick(f"Then ${frac(n0, den)} {op} {frac(n1, den)} = {frac(f'{n0} {op} {n1}', den)} = {frac(top, den)}$.",
                  f"Combining the numerators, ${n0} {op} {n1} = {top}$, so the result is ${frac(top, den)}$."))
    # One wording whether or not the fraction reduces: a carried wrong numerator changes the divisor, and
    # "already in lowest terms" against "Simplify" told wrong samples from right ones with every number
    # removed (bench/demo_leak.py, seed 1: bag of words 0.656 before, above the 0.60 a fair domain allows).
    g = math.gcd(top, den)
    result = Fraction(top, den) if g == 1 else Fraction(w.calc(top // g, ok=lambda v: math.gcd(v, den // g) == 1),
                                                          den // g)
    w.finish(w.pick(f"The greatest common divisor of {top} and {den} is {g}, so ${frac(top, den)} = {tex(result)}$.",
                    f"In lowest terms: ${frac(top, den)} = {tex(result)}$."), result)


# Geometry: rectangles and triangles.

def make_geometry(rng: random.Random, small: bool = False) -> Spec:
    # small: no carpet or fence (a perimeter or an area times a price is no times-table fact)
    shape = rng.choice(["cutout", "triangle"] if small else ["carpet", "fence", "cutout", "triangle"])
    L, W = (rng.randint(4, 9), rng.randint(4, 9)) if small else (rng.randint(6, 30), rng.randint(4, 20))
    if shape == "carpet":
        price = rng.randint(2, 9)
        text = (f"A rectangular room is {L} feet long and {W} feet wide. Carpet costs {price} dollars per square "
                f"foot. How many dollars does it cost to carpet the whole floor?")
        return Spec(text, L * W * price, 1, dict(shape=shape, L=L, W=W, price=price))
    if shape == "fence":
        price = rng.randint(3, 12)
        text = (f"A rectangular garden measures {L} m by {W} m. Fencing costs {price} dollars per meter. "
                f"What does it cost, in dollars, to fence all the way around the garden?")
        return Spec(text, 2 * (L + W) * price, 2, dict(shape=shape, L=L, W=W, price=price))
    if shape == "cutout":
        s = rng.randint(2, min(L, W) - 1)
        text = (f"A {L} cm by {W} cm rectangle of cardboard has a {s} cm by {s} cm square cut out of it. "
                f"What is the area of the cardboard that is left, in square centimeters?")
        return Spec(text, L * W - s * s, 1, dict(shape=shape, L=L, W=W, s=s))
    base, h = rng.randint(3, 9 if small else 30), rng.randint(1 if small else 2, 4 if small else 20) * 2
    text = f"A triangle has a base of {base} units and a height of {h} units. What is its area in square units?"
    return Spec(text, base * h // 2, 1, dict(shape=shape, base=base, h=h))


def solve_geometry(p: dict, w: Writer) -> None:
    shape = p["shape"]
    if shape == "triangle":
        lead(w, "The area of a triangle is half the base times the height.")
        prod, claim = w.mul(p["base"], p["h"])
        w.step(f"Base times height: ${claim}$.")
        area, claim = w.div(prod, 2)
        w.finish(w.pick(f"Half of that is ${claim}$.", f"So the area is ${claim}$ square units."), area)
        return
    L, W = p["L"], p["W"]
    if shape == "fence":
        half, claim = w.add(L, W)
        w.step(w.pick(f"One length plus one width is ${claim}$ m.", f"Half the perimeter is ${claim}$ m."))
        per, claim = w.mul(2, half)
        w.step(w.pick(f"The perimeter is ${claim}$ m.", f"Going all the way round is ${claim}$ meters."))
        cost, claim = w.mul(per, p["price"])
        w.finish(w.pick(f"The fencing costs ${claim}$ dollars.", f"At {p['price']} dollars a meter: ${claim}$."),
                 cost)
        return
    area, claim = w.mul(L, W)
    w.step(w.pick(f"The area of the rectangle is ${claim}$.", f"Length times width: ${claim}$."))
    if shape == "carpet":
        cost, claim = w.mul(area, p["price"])
        w.finish(w.pick(f"The carpet costs ${claim}$ dollars.", f"At {p['price']} dollars per square foot: ${claim}$."),
                 cost)
        return
    hole, claim = w.mul(p["s"], p["s"])
    w.step(f"The square that is cut out has area ${claim}$.")
    left, claim = w.sub(area, hole)
    w.finish(w.pick(f"What is left has area ${claim}$ square centimeters.", f"Remaining area: ${claim}$."), left)


FAMILIES = [
    Family("arith", "Prealgebra", make_arith, solve_arith),
    Family("linear", "Algebra", make_linear, solve_linear),
    Family("percent", "Prealgebra", make_percent, solve_percent),
    Family("series", "Algebra", make_series, solve_series),
    Family("fractions", "Prealgebra", make_fractions, solve_fractions),
    Family("geometry", "Geometry", make_geometry, solve_geometry),
]

# The small-operand domain (issue 26, item 4; benchmarks only, never stored): the same solvers, slips and checker
# on numbers small enough that nearly every product is a times-table fact (one-digit factors; now and then a
# one-digit number times a two-digit one). Can a small model learn to check this arithmetic, where it could not
# check the full domain's? Percentages and series are left out: their products are large by nature.
SMALL_FAMILIES = [Family(f"{f.name}-small", f.subject, partial(f.make, small=True), f.solve)
                  for f in FAMILIES if f.name in ("arith", "linear", "fractions", "geometry")]
DOMAINS = {"full": FAMILIES, "small": SMALL_FAMILIES}


# --- Generating problems with candidate solutions ---------------------------------

@dataclass
class DemoSolution:
    steps: list[str]
    final_answer: str
    is_correct: bool  # the final answer is right (an `aside` slip has a wrong step and a right answer)
    first_error: int | None
    source_id: str
    kind: str | None = None  # the slip (SLIP_KINDS), None for a sound solution


@dataclass
class DemoProblem:
    text: str
    answer: str
    reference: str
    subject: str
    level: int
    source_id: str
    solutions: list[DemoSolution] = field(default_factory=list)
    origin: dict = field(default_factory=dict)  # what `spec_of` rebuilds the problem from (Problem.extra["demo"])


def write_correct(family: Family, spec: Spec, style_seed: str) -> Writer:
    w = Writer(style_seed)
    family.solve(spec.params, w)
    assert w.answer_value == as_num(spec.answer), f"{family.name}: solver disagrees with the generator"
    return w


# How a wrong sample goes wrong, and how often: a false calculation (mostly off by a little, now and
# then blatant), a number copied wrongly from the problem or an earlier step, the wrong operation, a
# term left out, or a false side calculation (a re-check) after which the answer is still right.
SLIP_KINDS = {"arithmetic": 0.40, "misread": 0.20, "operation": 0.12, "skip": 0.13, "aside": 0.15}


def slip_kind(rng: random.Random) -> str:
    return rng.choices(list(SLIP_KINDS), weights=list(SLIP_KINDS.values()))[0]


def write_wrong(family: Family, spec: Spec, style_seed: str, kind: str = "arithmetic",
                trap: str | None = None) -> Writer | None:
    """A solution that slips once; tries slip points until the slip changes the answer sensibly
    (an `aside` leaves it right). `Writer.made` says which kind of slip it made. Samples that share
    a `trap` slip at the same computation in the same way, in their own words: a mistake a policy
    makes again and again on a problem, so its wrong answer can outvote the right one."""
    if kind == "aside":
        w = write_aside(family, spec, style_seed)
        if w is not None:
            return w
        kind = "arithmetic"  # no claim here to re-check falsely
    probe = Writer(style_seed, slip_at=-1)  # same wording as the slipping runs, no slip
    family.solve(spec.params, probe)
    slip = trap or style_seed
    rng = random.Random(f"wrong:{slip}")
    for attempt in range(40):
        w = Writer(style_seed, slip_at=rng.randrange(probe.ops), slip_seed=f"{slip}:{attempt}", kind=kind)
        family.solve(spec.params, w)
        if attempt < 30 and w.made != kind:  # a slip point where this kind fits (a skip needs three terms)
            continue
        if (w.first_error is not None and not w.odd_value and w.answer_value != as_num(spec.answer)
                and detectable(family, spec, w)):
            return w
    return None


_KNOWN: dict[tuple[str, str], frozenset] = {}
KNOWN_FROM = 24  # correct solutions (of different wording and path) whose numbers a checker accepts


def known_values(family: Family, spec: Spec) -> frozenset:
    """What the checker accepts for this problem: its numbers and those of KNOWN_FROM correct solutions."""
    key = (family.name, spec.text)
    if key not in _KNOWN:
        if len(_KNOWN) > 4096:
            _KNOWN.clear()
        _KNOWN[key] = checker.known_values(
            spec.text, [write_correct(family, spec, f"known:{k}").steps for k in range(KNOWN_FROM)])
    return _KNOWN[key]


def detectable(family: Family, spec: Spec, w: Writer) -> bool:
    """A slip whose wrong number happens to be one a correct solution states (misreading 12 as 13 where
    13 is in the problem) is redrawn: in this domain every wrong step is one a program can find."""
    return checker.check_step(w.steps[w.first_error], known_values(family, spec))[0] == -1


def write_aside(family: Family, spec: Spec, style_seed: str, false: bool = True) -> Writer | None:
    """A right solution with one re-check inserted after a claim. A false one (`false`) is a wrong step
    before a right answer; a true one is what careful right solutions write too, so that re-checking
    itself says nothing about a solution."""
    w = write_correct(family, spec, style_seed)
    rng = random.Random(f"aside:{style_seed}")
    sound = [c for c in w.claims if c[2] < len(w.steps) - 1]
    if not sound:
        return None
    lhs, value, at = rng.choice(sound)
    wrong = value
    if false:
        wrong = w._wrong(value, (), (), False, lambda v: Fraction(v).denominator == 1 or isinstance(value, Fraction))
        if wrong is None:
            return None
    w.steps.insert(at + 1, _recheck_text(rng, lhs, wrong))
    if not false:
        return w
    w.first_error, w.made = at + 1, "aside"
    return w if detectable(family, spec, w) else None


def _recheck_text(rng: random.Random, lhs: str, value: Num) -> str:
    return rng.choice([f"Let me double-check that: ${lhs} = {tex(value)}$, so it holds.",
                       f"Checking this once more: ${lhs} = {tex(value)}$. Good.",
                       f"To be safe, recompute: ${lhs} = {tex(value)}$, as before."])


def add_recheck(w: Writer, style_seed: str) -> Writer:
    """A wrong sample re-checks one of its claims, restating it as it was (right samples re-check as often:
    re-checking says nothing about the outcome): a true re-check before the slip, or, after it, one that
    repeats what the sample believes (unlabelled: after the first error nothing is); the first error moves
    down a step when the re-check comes before it."""
    rng = random.Random(f"aside:{style_seed}")
    stated = [c for c in w.stated if c[2] < len(w.steps) - 1]
    if not stated:
        return w
    lhs, value, at = rng.choice(stated)
    w.steps.insert(at + 1, _recheck_text(rng, lhs, value))
    if w.first_error is not None and at + 1 <= w.first_error:
        w.first_error += 1
    return w


def reference_text(w: Writer) -> str:
    body = [*w.steps[:-1], w.steps[-1].split(ANSWER_MARK)[0]]
    return "\n\n".join(body) + f"\n\nThe answer is $\\boxed{{{w.answer}}}$."


def generate(n_problems: int = 60, n_solutions: int = 4, seed: int = 0) -> list[DemoProblem]:
    """Deterministic for a given seed; problem i is the same whatever n_problems is."""
    problems = []
    for i, family, spec, attempt in problem_specs(n_problems, seed):
        ref = write_correct(family, spec, f"{seed}:{i}:reference")
        problem = DemoProblem(spec.text, tex(spec.answer), reference_text(ref), family.subject, spec.level,
                              f"{SOURCE_PREFIX}/{family.name}/{i:04d}",
                              origin={"family": family.name, "seed": seed, "index": i, "attempt": attempt})
        rng = random.Random(f"{seed}:{i}:candidates")
        problem.solutions = candidates(family, spec, n_solutions, rng, problem.source_id)
        problems.append(problem)
    return problems


def problem_specs(n_problems: int, seed: int = 0, domain: str = "full"):
    """(index, family, spec, attempt) of the first n_problems distinct problems of a seed, families in turn
    (`domain`: DOMAINS' families)."""
    families = DOMAINS[domain]
    seen = set()
    for i in range(n_problems):
        family = families[i % len(families)]
        for attempt in range(100):
            spec = family.make(random.Random(f"{seed}:{i}:{attempt}"))
            if spec.text not in seen:
                break
        seen.add(spec.text)
        yield i, family, spec, attempt


def candidates(family: Family, spec: Spec, n: int, rng: random.Random, source_id: str) -> list[DemoSolution]:
    n_wrong = n // 2 + (rng.randint(0, 1) if n % 2 else 0)
    if n >= 4:  # about half overall, but not exactly half on every problem
        n_wrong += rng.choice([-1, 0, 0, 1])
    plan = [True] * n_wrong + [False] * (n - n_wrong)
    rng.shuffle(plan)
    kinds = [slip_kind(rng) if wrong else None for wrong in plan]
    if wrong_answers := [k for k, kind in enumerate(kinds) if kind]:
        if all(kinds[k] == "aside" for k in wrong_answers):  # something with a wrong answer to compare
            kinds[wrong_answers[0]] = "arithmetic"
    out, seen = [], set()
    for k, wrong in enumerate(plan):
        kind = kinds[k]
        for attempt in range(20):  # distinct wording: identical candidates would be one row
            style = f"{rng.random()}:{k}:{attempt}"
            w = write_wrong(family, spec, style, kind) if wrong else write_correct(family, spec, style)
            if w and tuple(w.steps) not in seen:
                seen.add(tuple(w.steps))
                out.append(DemoSolution(w.steps, w.answer, w.answer_value == as_num(spec.answer), w.first_error,
                                        f"{source_id}/{k}", w.made))
                break
    return out


def spec_of(origin: dict) -> tuple[Family, Spec]:
    """The family and spec of a generated problem, from its `origin` (the demo policy samples new
    solutions of stored demo problems this way)."""
    family = next(f for f in FAMILIES if f.name == origin["family"])
    return family, family.make(random.Random(f"{origin['seed']}:{origin['index']}:{origin['attempt']}"))
