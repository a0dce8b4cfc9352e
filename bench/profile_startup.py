"""What a profile's process costs before it loads a variant: a fresh interpreter that imports
what every profile imports, against a process forked from the profiling fork server (which
imported it once), side by side on this machine.

    python bench/profile_startup.py [--repeats 3]

Prints the seconds of each (median of the repeats) and their ratio. The fork server's own
start (one import, paid once per `profile` command) is printed apart.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def _ready() -> bool:
    """What a profile's process would import, in the child: already there when forked."""
    import codesign.measurements.profiling_preload  # noqa: F401

    return True


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    if args.repeats < 1:
        raise SystemExit("--repeats must be at least 1")
    from codesign.measurements import profiling

    fresh = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "import codesign.measurements.profiling_preload"], check=True
        )
        fresh.append(time.perf_counter() - start)
    start = time.perf_counter()
    pool = profiling._pool()
    pool.submit(_ready).result()
    server = time.perf_counter() - start
    forked = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        pool.submit(_ready).result()
        forked.append(time.perf_counter() - start)
    a, b = statistics.median(fresh), statistics.median(forked)
    print(f"fresh interpreter + imports: {a:.2f} s (median of {args.repeats})")
    print(f"forked from the server:      {b:.2f} s (median of {args.repeats})")
    print(f"the fork server's start, once per command: {server:.2f} s")
    print(f"ratio: {a / b:.1f}x faster to start a profile's process; {a - b:.1f} s saved each")


if __name__ == "__main__":
    main()
