"""``transformers serve`` (transformers' own OpenAI-compatible server) on a free loopback port,
for the engine tests and bench/engine_throughput.py: a real server process, started and
stopped here, that a test may kill and start again on the same port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TransformersServe:
    """``transformers serve [MODEL] --device cpu --dtype float32`` on loopback, offline. Without
    ``model`` it loads any folder a request names (several variants from one server)."""

    def __init__(self, model: Path | None = None, port: int | None = None, log: Path | None = None):
        self.model, self.port = model, port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.log = log or Path(tempfile.mkstemp(prefix="transformers-serve.", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None
        # offline, /v1/models answers 500 until the hub cache folder exists
        self.home = Path(tempfile.mkdtemp(prefix="codesign-hf."))
        (self.home / "hub").mkdir()

    @staticmethod
    def command() -> list[str]:
        exe = Path(sys.executable).with_name("transformers")
        return [str(exe) if exe.exists() else (shutil.which("transformers") or "transformers")]

    def start(self, timeout_s: float = 180) -> TransformersServe:
        argv = [*self.command(), "serve", *([str(self.model)] if self.model else [])]
        argv += ["--host", "127.0.0.1", "--port", str(self.port), "--device", "cpu"]
        argv += ["--dtype", "float32"]
        env = dict(os.environ, HF_HOME=str(self.home), HF_HUB_OFFLINE="1", NO_COLOR="1")
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise RuntimeError(f"transformers serve exited {code}: {self.tail()}")
            if self.healthy():
                return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"transformers serve did not answer in {timeout_s:.0f} s: {self.tail()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL, as a crashed server goes."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def tail(self, n: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def __enter__(self) -> TransformersServe:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def run_batch(requests: Path, out: Path, base_url: str, *, fail_every: int = 0) -> int:
    """What ``vllm run-batch`` does, against a live server: each request of an OpenAI
    batch-request file posted to ``base_url``, each answer written as a batch output line
    (``fail_every`` > 0 writes every n-th as a failed request instead). Returns the lines."""
    import json

    import httpx

    root = base_url.removesuffix("/v1")
    n = 0
    with httpx.Client(timeout=600) as client, out.open("w") as f:
        for n, line in enumerate(requests.read_text().splitlines(), 1):
            req = json.loads(line)
            record = {"id": f"batch-{n}", "custom_id": req["custom_id"], "error": None}
            if fail_every and n % fail_every == 0:
                record |= {"response": None, "error": {"message": "failed on purpose"}}
            else:
                got = client.post(root + req["url"], json=req["body"])
                record["response"] = {"status_code": got.status_code, "body": got.json()}
            f.write(json.dumps(record) + "\n")
    return n
