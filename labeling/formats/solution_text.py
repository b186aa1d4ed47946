"""Finding the final answer in a solution's text (the `# Answer` convention, \\boxed{})."""
import re

_ANSWER_HEADING = re.compile(r"#\s*Answer\s*\n+(.*)\s*$", re.S)


def boxed_contents(text: str) -> str | None:
    """Contents of the last \\boxed{...} (or \\fbox{...}), braces balanced."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        return None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{":
            depth += 1
        elif text[j] == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j].strip()
    return None


def extract_answer(text: str) -> str | None:
    """The final answer stated in `text` (usually the last step), or None."""
    m = _ANSWER_HEADING.search(text)
    if m and m.group(1).strip():
        return m.group(1).strip()
    return boxed_contents(text)


def split_steps(solution: str) -> list[str]:
    """Split a solution text into steps: paragraphs if it has any, else lines.

    A trailing `# Answer` heading and the answer after it stay in the last step, as in
    PRM800K's pre-generated solutions.
    """
    sep = "\n\n" if "\n\n" in solution.strip() else "\n"
    parts = [p.strip() for p in solution.strip().split(sep) if p.strip()]
    steps: list[str] = []
    for part in parts:
        if steps and (part.startswith("# Answer") or steps[-1].endswith("# Answer")):
            steps[-1] = f"{steps[-1]}\n\n{part}"
        else:
            steps.append(part)
    return steps
