"""codesign: trust-aware hardware/algorithm co-design of mixed-precision LLM deployments."""

import sys

__version__ = "0.1.0"

if sys.argv[:1] == ["-m"]:  # `python -m codesign.<stage>` is locating its module: the packages
    # above it import first, before its launcher runs; a Ctrl-C there is one line too
    from codesign.launch import watch_sigint

    watch_sigint()
