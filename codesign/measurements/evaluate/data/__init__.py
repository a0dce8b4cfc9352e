"""Data files shipped with codesign: the project-written stand-in suites (see README.txt)."""
