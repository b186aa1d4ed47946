"""A real OpenAI-compatible model server for tests: `transformers serve` on a micro causal model
built here (its text is nonsense; what is tested is the protocol). The model stops early now and
then (120 of its 800 tokens end a sample, so most samples end with finish_reason `stop`), and has a
chat template, so both endpoints answer."""
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

SERVE = Path(sys.executable).with_name("transformers")


def build_model(out: Path, corpus: list[str], max_positions: int = 512) -> Path:
    from transformers import AutoTokenizer, GenerationConfig

    from activelearn.prm.micro import build_micro_backbone

    build_micro_backbone(out, corpus, "gpt2-lm", max_positions=max_positions)
    tok = AutoTokenizer.from_pretrained(out)
    ids = sorted(tok.get_vocab().values())
    stops = sorted(random.Random(0).sample(ids, 120))
    GenerationConfig(do_sample=True, eos_token_id=stops, pad_token_id=tok.eos_token_id,
                     bos_token_id=tok.bos_token_id).save_pretrained(out)
    tok.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:"
    tok.save_pretrained(out)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PolicyServer:
    """`transformers serve` in a process group of its own: start, kill (SIGKILL), start again."""

    def __init__(self, model_dir: Path, log_path: Path):
        self.model_dir, self.log_path = model_dir, log_path
        self.port = free_port()
        self.proc = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 120) -> "PolicyServer":
        log = open(self.log_path, "a")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        self.proc = subprocess.Popen([str(SERVE), "serve", str(self.model_dir), "--host", "127.0.0.1", "--port",
                                      str(self.port), "--device", "cpu"], stdout=log, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"transformers serve exited: {self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"transformers serve did not come up in {timeout} s: {self.log()}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def log(self) -> str:
        return self.log_path.read_text()[-3000:] if self.log_path.exists() else ""
