"""Issue 27's move of the README into docs/ lost no figure: every line of the old README that holds a
number is in some page now, verbatim (link targets and heading levels aside), or else edited with every
number it held in the same place of a page (a line at least half alike, and its neighbours).

    python3 scripts/docs_move_check.py [ROOT] [REV:README.md]     # default: c5cae51, before the move

Prints each edited line and where it went; exits 1 if a line is not found.
"""
import difflib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
old = subprocess.run(["git", "-C", str(ROOT), "show", sys.argv[2] if len(sys.argv) > 2 else "c5cae51:README.md"],
                     capture_output=True, text=True, check=True).stdout
pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md")), ROOT / "bench" / "README.md"]
new_lines = [(p, line) for p in pages for line in p.read_text().splitlines()]
new_text = "\n".join(line for _, line in new_lines)
NUM = re.compile(r"\d+(?:[.,]\d+)*")


def norm(s):
    s = re.sub(r"\]\([^)]*\)", "]()", s)          # link targets moved
    s = re.sub(r"^#+\s*", "", s)                 # heading levels moved
    return " ".join(s.split())


new_norm = {norm(line) for _, line in new_lines}
verbatim = fuzzy = 0
lost = []
for n, line in enumerate(old.splitlines(), 1):
    if not NUM.search(line):
        continue
    if norm(line) in new_norm or (line.strip() and line.strip() in new_text):
        verbatim += 1
        continue
    nums = NUM.findall(line)
    best = max(new_lines, key=lambda pl: difflib.SequenceMatcher(None, norm(line), norm(pl[1])).ratio())
    ratio = difflib.SequenceMatcher(None, norm(line), norm(best[1])).ratio()
    # the numbers may be split over the matched line and its neighbours (a rewrapped sentence)
    p, bl = best
    plines = p.read_text().splitlines()
    i = plines.index(bl)
    window = " ".join(plines[max(0, i - 2):i + 3])
    if ratio >= 0.5 and all(x in window for x in nums):
        fuzzy += 1
        print(f"edited  {n:5d} ({ratio:.2f}) -> {p.relative_to(ROOT)}: {line.strip()[:90]}")
    else:
        lost.append((n, line, ratio, best))
print(f"number-bearing lines of the old README: {verbatim + fuzzy + len(lost)}; verbatim {verbatim}, "
      f"edited with every number kept {fuzzy}, not found {len(lost)}")
for n, line, ratio, (p, bl) in lost:
    print(f"NOT FOUND {n}: {line.strip()[:140]}\n   best ({ratio:.2f}) {p.relative_to(ROOT)}: {bl.strip()[:140]}")
sys.exit(1 if lost else 0)
