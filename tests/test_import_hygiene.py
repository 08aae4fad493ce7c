"""The core package never imports Streamlit (STYLE habit 1)."""

import pkgutil
import subprocess
import sys

import pytest

import worktrack

CORE_MODULES = ["worktrack"] + sorted(
    f"worktrack.{m.name}" for m in pkgutil.iter_modules(worktrack.__path__) if m.name != "__main__"
)


def test_core_modules_found():
    assert {"worktrack.plan", "worktrack.cli", "worktrack.i18n"} <= set(CORE_MODULES)


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_streamlit(module):
    code = f"import importlib, sys\nimportlib.import_module({module!r})\nsys.exit(3 if 'streamlit' in sys.modules else 0)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, f"{module} imports streamlit (or failed to import): {result.stderr[-2000:]}"
