"""The documentation: the command reference covers every command and option, and the
README's and the pages' relative links point at files that exist. (``make test`` also
builds the site with ``mkdocs build --strict``, which checks links, anchors and the nav.)"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import typer

from latentwatch.cli import COMMANDS, app

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _hook():
    spec = importlib.util.spec_from_file_location(
        "cli_reference", ROOT / "docs" / "hooks" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_command_reference_lists_every_command_and_option():
    text = _hook().reference()
    group = typer.main.get_command(app)
    for name in COMMANDS:
        section = text.split(f"## `latentwatch {name}`\n")[1].split("\n## ")[0]
        for param in group.commands[name].params:
            if param.param_type_name == "option":
                assert f"`{param.opts[0]}`" in section, (name, param.opts)
            else:
                assert (param.metavar or param.name.upper()) in section.splitlines()[2]
    assert "--verify-key" in text and "LATENTWATCH_VERIFY_KEY" in text


def test_relative_links_point_at_files():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    for page in pages:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (page.parent / target).exists(), (page.name, target)


def test_every_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in (ROOT / "docs").rglob("*.md"):
        assert str(page.relative_to(ROOT / "docs")) in nav, page
