"""codesign: trust-aware hardware/algorithm co-design of mixed-precision LLM deployments."""

__version__ = "0.1.0"
