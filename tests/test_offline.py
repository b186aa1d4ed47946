"""No model download at run time unless the user opts in."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _env_after_setup(extra: dict) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(extra)
    code = ("import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup(); "
            "import huggingface_hub.constants as c; print(c.HF_HUB_OFFLINE)")
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_hub_is_offline_by_default():
    assert _env_after_setup({}) == "True"


def test_hub_network_only_when_asked():
    assert _env_after_setup({"HF_ALLOW_NETWORK": "1"}) == "False"
