"""Is the Hugging Face hub reachable? Asked once, quickly, before a hub id is used, so an
offline machine fails at once with one line instead of after the hub client's retries."""

from __future__ import annotations

import functools
import os
import socket
from urllib.parse import urlparse

TRUTHY = ("1", "true", "yes", "on")


@functools.cache
def unreachable_reason(timeout_s: float = 3.0) -> str | None:
    """None when the hub answers a TCP connect; else why not (``HF_HUB_OFFLINE`` is set, the
    name does not resolve, the connection is refused or times out)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in TRUTHY:
        return "HF_HUB_OFFLINE is set"
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        return f"{host} cannot be reached ({exc.strerror or type(exc).__name__})"
    return None
