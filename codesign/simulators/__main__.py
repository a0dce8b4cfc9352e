"""Run the simulators' command line: `python -m codesign.simulators --help`."""

from codesign.simulators.cli import main

raise SystemExit(main())
