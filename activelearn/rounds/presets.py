"""Named round presets for the page's form: each fills some options (the rest keep their defaults).
Defined once here; every preset's values pass parse_config (tests/test_round_form.py)."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    help: str
    values: dict


PRESETS = (
    Preset("paper", "The paper's recipe",
           "Convincing wrong answers (80/20 per problem), a PRM trained from scratch on people's labels, "
           "solutions scored by the product of their step scores.",
           {"strategy": "convincing", "per_problem": 4, "wrong_fraction": 0.8, "retrain": "scratch",
            "train_labels": "human", "soft_targets": "hard", "aggregation": "prod", "auto_label_with": ""}),
    Preset("demo", "A quick demo",
           "Fresh candidates from the built-in demo generator, few samples per problem, one short epoch.",
           {"generate_with": "demo", "samples_per_problem": 4, "problem_cap": 8, "per_problem": 2,
            "round_cap": 50, "retrain": "scratch", "epochs": 1.0, "max_length": 256, "auto_label_with": ""}),
    Preset("auto_first", "Automatic labels first",
           "Label candidates with rollouts first, then select where those labels and the PRM disagree most.",
           {"auto_label_with": "rollout", "auto_label_connection": "demo", "auto_label_k": 8,
            "strategy": "disagreement", "train_labels": "human"}),
)


def as_page_data() -> list[dict]:
    return [{"key": p.key, "title": p.title, "help": p.help, "values": p.values} for p in PRESETS]
