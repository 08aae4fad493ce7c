"""Cross-checks that fail when the pieces drift apart (sqlite-utils' test_docs.py habit)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT
from worktrack.cli import build_parser
from worktrack.i18n import catalogue

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _subcommands(parser, prefix=""):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                nested = list(_subcommands(sub, f"{prefix}{name} "))
                yield from nested or [f"{prefix}{name}"]


@pytest.mark.parametrize("command", sorted(_subcommands(build_parser())))
def test_every_cli_subcommand_is_documented_in_readme(command):
    assert f"`{command}" in README, f"README does not document `{command}`"


def test_locales_have_the_same_keys():
    zh, en = catalogue("zh"), catalogue("en")
    assert set(zh) == set(en), f"missing in en: {set(zh) - set(en)}; missing in zh: {set(en) - set(zh)}"


def test_locale_keys_used_in_code_exist():
    zh = catalogue("zh")
    sources = [ROOT / "dashboard.py", ROOT / "app_support.py", *sorted((ROOT / "pages").glob("*.py"))]
    used = set()
    for path in sources:
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_.]+)["']""", path.read_text(encoding="utf-8")))
    assert used, "no translated strings found"
    assert used <= set(zh), f"keys used but not defined: {sorted(used - set(zh))}"


def test_every_page_file_is_registered_in_navigation():
    entry = (ROOT / "dashboard.py").read_text(encoding="utf-8")
    for page in sorted((ROOT / "pages").glob("*.py")):
        assert f'"pages/{page.name}"' in entry, f"{page.name} is not registered with st.Page in dashboard.py"


def test_readme_names_both_commands_and_ci_calls_the_test_command():
    assert "bash scripts/run.sh" in README and "bash scripts/test.sh" in README
    assert "scripts/test.sh" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
