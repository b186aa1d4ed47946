"""bench/gpu_check.sh's CPU run, so the GPU check works the day a GPU machine is at hand: LoRA and full training,
scoring and best-of-N on a tiny random model, figures printed as JSON."""
import json
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_gpu_check_runs_on_cpu(micro_bert):
    out = subprocess.run(["bash", "bench/gpu_check.sh", str(micro_bert), "--tiny", "--json", "--cpu-steps", "3",
                          "--score-solutions", "24", "--problems", "12"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    rows = report["results"]
    assert [(r["device"], r["mode"]) for r in rows] == [("cpu", "lora"), ("cpu", "full")]
    for r in rows:
        assert r["train_sequences_per_s"] > 0 and r["score_steps_per_s"] > 0 and r["train_loss"] > 0
        assert set(r["best_of_n"]) == {"prm", "majority"} and len(r["best_of_n"]["prm"]) == 3
        assert all(0 <= a <= 1 for a in r["best_of_n"]["prm"])
    assert report["machine"]["gpu"] is None and "no CUDA GPU here" in out.stderr
