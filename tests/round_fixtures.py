"""Data for round tests: human-labelled ProcessBench passes to train on, and an unlabelled
pool of solutions whose final answers are already graded by the source."""
import json

import orjson

from .helpers import run


def labelled_and_pool(shared_data, tmp_path, n_train=40, n_pool=30) -> list[dict]:
    data = json.loads((shared_data / "processbench" / "gsm8k.json").read_text())
    train_file = tmp_path / "train.json"
    train_file.write_bytes(orjson.dumps(data[:n_train]))
    run("import_solutions", str(train_file))
    pool = data[n_train:n_train + n_pool]
    pool_file = tmp_path / "pool.jsonl"
    pool_file.write_bytes(b"".join(orjson.dumps({
        "problem": r["problem"], "steps": r["steps"], "is_correct": r["final_answer_correct"],
        "generator": r["generator"], "id": r["id"]}) + b"\n" for r in pool))
    run("import_solutions", str(pool_file), "--format", "jsonl")
    return pool


def allow_micro(settings, micro_bert, *more: str) -> None:
    """Rounds name their backbone (PRM_ALLOWED_BACKBONES), never give its path."""
    settings.PRM_ALLOWED_BACKBONES = [f"micro={micro_bert}", *more]


def round_config(micro_bert, **over) -> dict:
    return {"base_model": "micro", "epochs": 1, "max_length": 256, "per_problem": 2, "round_cap": 10,
            "chunk_size": 7, "seed": 0, **over}
