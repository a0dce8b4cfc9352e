"""Evaluation engines, one file each, registered by name in ``ENGINES`` (``--engine NAME``).

``local`` runs the variants in this process (the default, and the embedded model's engine);
``openai`` sends the same prompts to any server speaking the OpenAI API. Adding an engine is
one module here with an ``EngineKind`` subclass registered in ``ENGINES``.
"""

from codesign.measurements.evaluate.engines.base import (
    DEFAULT_ENGINE,
    ENGINES,
    Engine,
    EngineKind,
    Generation,
    Prompt,
)
from codesign.registry import import_all

import_all(__name__)

__all__ = ["DEFAULT_ENGINE", "ENGINES", "Engine", "EngineKind", "Generation", "Prompt"]
