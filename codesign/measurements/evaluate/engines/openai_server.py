"""``--engine openai``: the prompts go to any server speaking the OpenAI API (vLLM, SGLang, TGI,
llama.cpp's server, transformers serve), through the ``openai`` client.

codesign renders every prompt itself with the variant's tokenizer (chat template applied), so
the server sees the text the local engine tokenizes, and sends it to ``/v1/completions``:
greedy (temperature 0), the suite's ``max_tokens``, stopping at the model's end of sequence.
``--api chat`` sends the conversation to ``/v1/chat/completions`` instead (the server applies
its own template) for servers that have nothing else. MMLU's log-likelihood setting needs the
prompt's log-probabilities (``echo`` with ``logprobs``, as vLLM returns them); a server that
does not return them is refused before any work, naming the generative setting.

Requests run concurrently (``--concurrency`` in flight), and the client retries 429s, 5xxs,
timeouts and refused connections with backoff; what still fails is one line (exit 1), and
every answer already stored is kept. Each prediction records the engine, the server's host,
the model name it reported and its version where it gives one.
"""

from __future__ import annotations

import argparse
import os
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from codesign.errors import CodesignError
from codesign.measurements.evaluate.decoding import StepClock
from codesign.measurements.evaluate.engines.base import (
    ENGINES,
    Engine,
    EngineKind,
    Generation,
    OnBatch,
    Prompt,
)
from codesign.validation import Number

RETRIES = 5  # the client's own retries (exponential backoff) on 408/409/429/5xx and timeouts
FLUSH_EVERY = 16  # answers handed on (stored) together


class ServerFailed(CodesignError):
    """The server broke mid-run (after retries): not bad input; what was stored is kept."""

    exit_code = 1


@dataclass(frozen=True)
class Served:
    """A variant as a server serves it: where, under which name, and what the server said."""

    url: str
    model: str  # the name requests carry
    reported: str = ""  # the model name the server's answer carried
    version: str = ""  # the server's version where it reports one (vLLM's /version)

    @property
    def host(self) -> str:
        return urlparse(self.url).netloc


def _base_url(text: str, flag: str) -> str:
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise CodesignError(f"{flag} {text!r}: expected an http(s) URL, e.g. http://host:8000/v1")
    url = text.rstrip("/")
    return url if url.endswith("/v1") else f"{url}/v1"


def parse_serve(pairs: Sequence[str], base_url: str | None) -> dict[str, tuple[str, str]]:
    """``--serve VARIANT=MODEL[@URL]`` pairs as {variant label: (model name, base URL)}."""
    out: dict[str, tuple[str, str]] = {}
    for pair in pairs:
        label, sep, rest = pair.partition("=")
        model, at, url = rest.rpartition("@") if "@http" in rest else (rest, "", "")
        if not sep or not label or not model:
            raise CodesignError(f"--serve takes VARIANT=MODEL_NAME[@URL], got {pair!r}")
        if label in out:
            raise CodesignError(f"--serve {label}: given twice")
        if not at and base_url is None:
            raise CodesignError(f"--serve {pair}: no server named (add @URL or --base-url)")
        out[label] = (model, _base_url(url, "--serve") if at else base_url)  # type: ignore[assignment]
    return out


def _client(url: str, key: str, timeout: float):
    import openai

    return openai.OpenAI(base_url=url, api_key=key, max_retries=RETRIES, timeout=timeout)


def _why(exc: BaseException) -> str:
    """The server's own message (or the connection's), in one line."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        body = exc.body
        detail = body.get("detail") or body.get("message") if isinstance(body, dict) else None
        return f"HTTP {exc.status_code}: {detail or exc.message}".replace("\n", " ")
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        return f"{exc.message} ({cause})" if cause else exc.message
    return str(exc).replace("\n", " ")


def _version(client) -> str:
    """vLLM answers ``GET /version``; other servers may not: then nothing is recorded."""
    try:
        got = client.get("/version", cast_to=object, options={"max_retries": 0})
    except Exception:
        return ""
    return str(got.get("version", "")) if isinstance(got, dict) else ""


class OpenAIEngine(Engine):
    """One variant served by one server; prompts rendered here, answers parsed here."""

    engine = "openai"

    def __init__(self, variant: Any, served: Served, client, api: str, concurrency: int) -> None:
        self.variant, self.served, self.client = variant, served, client
        self.api, self.concurrency = api, concurrency
        self._tokenizer = None
        version = f", {served.version}" if served.version else ""
        self.runtime = (
            f"openai API ({ENDPOINTS[api]}) at {served.host}: "
            f"model {served.reported or served.model}{version}"
        )

    @property
    def tokenizer(self) -> Any:
        if self._tokenizer is None:
            from codesign.measurements.quantize.backends.dense import load_tokenizer

            self._tokenizer = load_tokenizer(Path(self.variant.path))
        return self._tokenizer

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.engine,
            "api": self.api,
            "host": self.served.host,
            "model": self.served.reported or self.served.model,
            "version": self.served.version or None,
        }

    def generate_until(
        self,
        prompts: Sequence[Prompt],
        max_new_tokens: int,
        on_batch: OnBatch,
        *,
        groups: Sequence[Sequence[int]] | None = None,
        clock: StepClock | None = None,
        max_batch_tokens: int = 8192,
    ) -> None:
        if self.api == "chat" and any(p.messages is None for p in prompts):
            raise CodesignError("--api chat: a raw-text suite (mmlu_gen) has no conversation")
        model, tokenizer = self.served.model, self.tokenizer
        bodies = [request_body(model, tokenizer, p, max_new_tokens, self.api) for p in prompts]
        create = self.client.chat.completions if self.api == "chat" else self.client.completions

        def one(i: int) -> Generation:
            return generation_from(create.create(**bodies[i]).model_dump())

        self._fan_out(len(prompts), one, on_batch)

    def choice_logprobs(
        self,
        contexts: Sequence[str],
        choices: Sequence[str],
        on_batch: OnBatch,
        *,
        clock: StepClock | None = None,
        max_batch_tokens: int = 8192,
    ) -> None:
        def one(i: int) -> list[float]:
            context = contexts[i]
            return [self._continuation_logprob(context, ch) for ch in choices]

        self._fan_out(len(contexts), one, on_batch)

    def _continuation_logprob(self, context: str, choice: str) -> float:
        got = self.client.completions.create(
            model=self.served.model,
            prompt=context + choice,
            max_tokens=1,
            temperature=0,
            echo=True,
            logprobs=1,
        )
        return continuation_logprob(got.choices[0].logprobs, len(context), len(context + choice))

    def _fan_out(self, n: int, one, on_batch: OnBatch) -> None:
        """``one(i)`` for every i, ``concurrency`` in flight; finished results go to
        ``on_batch`` a few at a time. A failure (after the client's retries) stops the run with
        the server's message; on Ctrl-C the answers already handed on are kept. The request
        threads are daemons: a request a hung server never answers cannot hold the process
        after Ctrl-C (an executor's threads are joined at exit, up to --request-timeout)."""
        todo: queue.SimpleQueue = queue.SimpleQueue()
        for i in range(n):
            todo.put(i)
        done: queue.SimpleQueue = queue.SimpleQueue()
        stop = threading.Event()

        def work() -> None:
            while not stop.is_set():
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    done.put((i, one(i), None))
                except Exception as exc:  # handed to the caller's thread
                    done.put((i, None, exc))

        for _ in range(min(self.concurrency, n)):
            threading.Thread(target=work, name="openai-engine", daemon=True).start()
        ready: list[tuple[int, Any]] = []
        try:
            for left in range(n, 0, -1):
                i, result, exc = _next(done)
                if exc is not None:
                    raise self._failed(exc)
                ready.append((i, result))
                if len(ready) >= FLUSH_EVERY or left == 1:
                    on_batch([i for i, _ in ready], [r for _, r in ready])
                    ready.clear()
        finally:
            stop.set()

    def _failed(self, exc: Exception) -> Exception:
        import openai

        if not isinstance(exc, openai.OpenAIError):
            return exc
        return ServerFailed(
            f"the server at {self.served.host} failed serving {self.served.model} for "
            f"{self.variant.key}: {_why(exc)}; every answer before it is stored (rerun to "
            "resume)"
        )


def _next(done: queue.SimpleQueue) -> tuple:
    """The next finished request; waits in short steps so that Ctrl-C is seen at once."""
    while True:
        try:
            return done.get(timeout=0.2)
        except queue.Empty:
            continue


ENDPOINTS = {"completions": "/v1/completions", "chat": "/v1/chat/completions"}


def request_body(model: str, tokenizer, prompt: Prompt, max_new_tokens: int, api: str) -> dict:
    """What the openai engine asks of a server for one prompt, and what ``export`` writes:
    greedy, the suite's new tokens; the prompt as codesign renders it (``completions``) or
    its conversation (``chat``)."""
    if api == "chat":
        asked: dict[str, Any] = {"messages": list(prompt.messages or ())}
    else:
        asked = {"prompt": server_text(tokenizer, prompt)}
    return {"model": model, **asked, "max_tokens": max_new_tokens, "temperature": 0}


def generation_from(body: dict) -> Generation:
    """A completion or chat completion's answer (as JSON), stripped, with its token counts."""
    choice = body["choices"][0]
    text = choice.get("text")
    if text is None:
        text = (choice.get("message") or {}).get("content")
    usage = body.get("usage") or {}
    return Generation(
        (text or "").strip(), usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
    )


def server_text(tokenizer, prompt: Prompt) -> str:
    """The prompt text as a server is sent it. A server encodes a completion prompt with the
    tokenizer's special tokens; a rendered chat holds its own, so where the tokenizer would
    add a beginning-of-sequence token that the template already wrote, that token's text is
    left out here and the server's encoding equals the local engine's."""
    bos = tokenizer.bos_token
    if prompt.special or not bos or not prompt.text.startswith(bos):
        return prompt.text
    added = tokenizer("", add_special_tokens=True)["input_ids"]
    return prompt.text[len(bos) :] if added[:1] == [tokenizer.bos_token_id] else prompt.text


def continuation_logprob(logprobs: Any, start: int, end: int) -> float:
    """Sum of the log-probabilities of the prompt tokens that reach past character ``start``
    (the continuation, a token straddling the boundary included, as the local engine splits
    it), up to ``end`` (the generated token after the prompt is not counted), from an
    ``echo``ed completion's ``logprobs`` (``text_offset`` and ``token_logprobs``)."""
    offsets = getattr(logprobs, "text_offset", None) if logprobs is not None else None
    values = getattr(logprobs, "token_logprobs", None) if logprobs is not None else None
    if not offsets or not values:
        raise NoPromptLogprobs
    ends = [*offsets[1:], end]
    total = 0.0
    for off, stop, value in zip(offsets, ends, values, strict=False):
        if off >= end:
            break
        if stop > start:
            if value is None:  # the very first token has no log-probability
                raise NoPromptLogprobs
            total += value
    return total


class NoPromptLogprobs(Exception):
    """The server returned no log-probabilities for the prompt's tokens."""


class NoLoglik(CodesignError):
    """A log-likelihood suite was asked of a server that returns no prompt log-probabilities."""


@ENGINES.register("openai")
class OpenAI(EngineKind):
    name = "openai"
    help = "any server speaking the OpenAI API (vLLM, SGLang, TGI, llama.cpp, transformers serve)"

    @staticmethod
    def add_arguments(group: argparse._ArgumentGroup) -> None:
        group.add_argument(
            "--base-url",
            help="openai engine: the server's URL, e.g. http://127.0.0.1:8000/v1",
        )
        group.add_argument(
            "--serve",
            action="append",
            default=[],
            metavar="VARIANT=MODEL_NAME[@URL]",
            help="openai engine: the model name a server serves a variant under, e.g. "
            "gptq-w4=llama-13b-gptq-w4@http://gpu2:8000/v1 (repeatable; one server per variant "
            "is the vLLM way; without it a variant is matched to the server's model whose name "
            "is the variant's folder, as `vllm serve FOLDER` names it)",
        )
        group.add_argument(
            "--api-key-env",
            metavar="NAME",
            help="openai engine: the environment variable holding the API key (default: "
            "OPENAI_API_KEY when set; local servers need none)",
        )
        group.add_argument(
            "--api",
            choices=("completions", "chat"),
            default="completions",
            help="openai engine: completions sends the prompt codesign renders (chat template "
            "applied here, so the tokens are the local engine's); chat sends the messages and "
            "lets the server apply its template (default: completions)",
        )
        group.add_argument(
            "--concurrency",
            type=Number(int, 1, 1_024),
            default=8,
            help="openai engine: requests in flight per variant (default: 8)",
        )
        group.add_argument(
            "--request-timeout",
            type=Number(float, 0, 86_400, above=True),
            default=600.0,
            help="openai engine: seconds one request may take before it is retried (default: 600)",
        )

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__(args)
        self.served: dict[str, Served] = {}
        self._clients: dict[str, Any] = {}

    def check_arguments(self, variant_labels: Sequence[str], suites: Sequence[Any] = ()) -> None:
        args = self.args
        base = _base_url(args.base_url, "--base-url") if args.base_url else None
        if not args.serve and base is None:
            raise CodesignError("--engine openai needs --base-url URL or --serve VARIANT=NAME@URL")
        if args.api == "chat":
            from codesign.measurements.evaluate.templates import check_chat_api

            check_chat_api(suites)
        self._key = self._api_key()
        bound = parse_serve(args.serve, base)
        if unknown := sorted(set(bound) - set(variant_labels)):
            raise CodesignError(
                f"--serve {unknown[0]}: not a variant of this command (its variants: "
                f"{', '.join(variant_labels)})"
            )
        urls = {url for _, url in bound.values()} | ({base} if base else set())
        for url in sorted(urls):
            self._listed(url)  # reachable, before any work
        loglik = [s.name for s in suites if s.kind == "loglik"]
        for label, (model, url) in bound.items():
            self.served[label] = self._probe(label, model, url, loglik)
        self._base, self._loglik = base, loglik

    def _api_key(self) -> str:
        name = self.args.api_key_env
        if name is None:
            return os.environ.get("OPENAI_API_KEY") or "EMPTY"
        if not os.environ.get(name):
            raise CodesignError(f"--api-key-env {name}: that environment variable is not set")
        return os.environ[name]

    def client(self, url: str):
        if url not in self._clients:
            self._clients[url] = _client(url, self._key, self.args.request_timeout)
        return self._clients[url]

    def _listed(self, url: str) -> list[str]:
        """The model names the server lists (``/v1/models``); one line if it cannot be reached."""
        import openai

        try:
            client = _client(url, self._key, 30).with_options(max_retries=1)
            return [m.id for m in client.models.list()]
        except openai.APIConnectionError as exc:
            raise CodesignError(f"cannot reach the server at {url}: {_why(exc)}") from None
        except openai.APIStatusError as exc:
            if exc.status_code in (401, 403):
                why = _why(exc)
                raise CodesignError(f"the server at {url} refused the API key: {why}") from None
            return []  # some servers list nothing (or fail to): the probe decides

    def _probe(self, label: str, model: str, url: str, loglik: Sequence[str]) -> Served:
        """One 1-token completion under ``model``: the server serves it (or says why not)."""
        import openai

        client = _client(url, self._key, 120).with_options(max_retries=1)
        try:
            got = client.completions.create(
                model=model, prompt="Hello", max_tokens=1, temperature=0, **_echo(loglik)
            )
        except openai.APIConnectionError as exc:
            raise CodesignError(f"cannot reach the server at {url}: {_why(exc)}") from None
        except openai.APIStatusError as exc:
            raise CodesignError(
                f"--serve {label}={model}: the server at {url} does not serve it: {_why(exc)}"
            ) from None
        if loglik:
            try:
                continuation_logprob(got.choices[0].logprobs, 1, len("Hello"))
            except NoPromptLogprobs:
                raise NoLoglik(
                    f"{', '.join(loglik)}: the server at {url} returns no prompt "
                    "log-probabilities (echo with logprobs; vLLM does); run the generative "
                    "MMLU setting instead (--suites ...,mmlu_gen)"
                ) from None
        return Served(url, model, got.model or "", _version(client))

    def bind(self, variant: Any, device: str) -> OpenAIEngine:
        from codesign.store import variant_label

        label = variant_label(variant.method, variant.bits, variant.seed)
        if label not in self.served:
            self.served[label] = self._by_folder(label, variant)
        served = self.served[label]
        return OpenAIEngine(
            variant, served, self.client(served.url), self.args.api, self.args.concurrency
        )

    def _by_folder(self, label: str, variant: Any) -> Served:
        """A variant not named by ``--serve``: the base server's model named after its folder
        (``vllm serve FOLDER`` lists it so; transformers serve loads a folder it is asked for)."""
        folder = str(Path(variant.path).resolve())
        if self._base is None:
            raise CodesignError(f"{label}: no server serves it; add --serve {label}=NAME@URL")
        try:
            return self._probe(label, folder, self._base, self._loglik)
        except NoLoglik:
            raise
        except CodesignError as exc:
            why = str(exc).rpartition("does not serve it: ")[2]
            listed = ", ".join(self._listed(self._base)) or "nothing"
            raise CodesignError(
                f"{label}: the server at {self._base} does not serve its folder {folder} "
                f"({why}; it lists: {listed}); add --serve {label}=MODEL_NAME[@URL]"
            ) from None

    def job_fields(self) -> dict[str, Any]:
        return {"engine": self.name, "api": self.args.api}


def _echo(loglik: Sequence[str]) -> dict[str, Any]:
    return {"echo": True, "logprobs": 1} if loglik else {}


__all__ = ["OpenAI", "OpenAIEngine", "ServerFailed", "continuation_logprob", "server_text"]
