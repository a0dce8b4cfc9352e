"""The README stays a front door and every link between the pages lands: each relative link in
the README, docs/ and bench/README.md names a file that exists and, when it has one, a heading
that the file has (GitHub's anchor rule)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_LINES = 200
GLOSSARY = (
    "variant",
    "member",
    "ensemble",
    "setting",
    "profile",
    "template",
    "unit",
    "family",
    "schedule",
    "engine",
)


def _anchor(heading: str) -> str:
    """GitHub's slug: lower case, punctuation dropped (hyphens and underscores kept), spaces to
    hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    found, fence = set(), False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and (m := re.match(r"^#+ (.*)", line)):
            found.add(_anchor(m.group(1)))
    return found


def _links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    return [t for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t]


def test_the_readme_is_a_front_door():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= README_MAX_LINES
    for term in GLOSSARY:
        assert f"| **{term}** |" in text, f"glossary lacks {term}"
    for needed in ("make run", "make test", "## Exit codes", "docs/"):
        assert needed in text


def test_the_docs_folder_has_the_stage_guides():
    names = {p.stem for p in (ROOT / "docs").glob("*.md")}
    assert {"usage", "trust", "simulators", "search", "scaling", "benchmarks"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_lands(page):
    assert _links(page) or page.name != "README.md" or page.parent != ROOT
    for link in _links(page):
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{page.name}: {link} names no file"
        if anchor and target.suffix == ".md":
            assert anchor in _anchors(target), f"{page.name}: {link} names no heading"
