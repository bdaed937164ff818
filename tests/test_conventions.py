"""The conventions live in the repository: every citation in code and docs points at a page that is there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for folder in ("core", "blender_addon", "scripts", "benchmarks", "tests", "docs")
           for p in (ROOT / folder).rglob("*") if p.suffix in (".py", ".md", ".toml", ".sh")] + [ROOT / "README.md"]


def test_no_source_cites_a_design_document_outside_the_repository():
    cited = [f"{p.relative_to(ROOT)}:{n}" for p in SOURCES for n, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"DESIGN\.md\s*§", line)]
    assert not cited, cited


def test_conventions_page_holds_the_rules_the_code_cites():
    text = (ROOT / "docs" / "conventions.md").read_text()
    for rule in ("Pixel coordinates", "Coefficient scale", "Forward vs backward", "Loop length", "Displacement files",
                 "Motion beyond oscillation", "## Blender"):
        assert rule in text, rule
    assert sum("docs/conventions.md" in p.read_text() for p in SOURCES) >= 20
