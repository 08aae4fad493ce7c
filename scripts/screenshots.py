"""Regenerate docs/screenshots/*.png: every screen on the demo data, in headless Chromium.

    .venv/bin/python scripts/screenshots.py

Starts the dashboard in demo mode on a fresh demo database in a temporary folder, enters as the demo
administrator (who sees every screen) and photographs each page at 1440 px wide.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import browser_page, running_dashboard, wait_for_app  # noqa: E402

# (navigation label, heading that proves the page is drawn, file name)
SCREENS = [
    ("总览", "总览", "overview"),
    ("目标", "工作要点与目标", "plan"),
    ("社区", "社区", "community"),
    ("例会", None, "meeting"),
    ("上报", None, "upload"),
    ("审核", None, "review"),
    ("报送", None, "remind"),
    ("台账", None, "registers"),
    ("管理", None, "admin"),
]


def enter_demo(page, url: str, role_label: str) -> None:
    """Sign in through the demo role picker."""
    page.goto(url)
    wait_for_app(page)
    page.get_by_text(role_label).first.click()
    page.get_by_role("button", name="进入演示").click()
    page.get_by_role("heading", name="总览").wait_for(timeout=30_000)
    wait_for_app(page)


def capture(out_dir: Path, height: int = 1800) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    shots = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "demo.duckdb"
        subprocess.run([sys.executable, "-m", "worktrack", "--db", str(db), "demo", "--out", str(Path(tmp) / "samples")],
                       check=True, capture_output=True)
        env = {"WORKTRACK_DB": str(db), "WORKTRACK_DEMO": "1", "WORKTRACK_USERS": str(Path(tmp) / "users.yaml"),
               "WORKTRACK_VIEWPORT_HEIGHT": str(height)}
        with running_dashboard(env) as url, browser_page() as page:
            page.set_viewport_size({"width": 1440, "height": height})
            enter_demo(page, url, "管理员（演示）")
            for label, heading, name in SCREENS:
                page.get_by_role("link", name=label).first.click()
                if heading:
                    page.get_by_role("heading", name=heading, exact=True).first.wait_for(timeout=30_000)
                wait_for_app(page)
                page.wait_for_timeout(2500)  # let Plotly and the data grids draw
                path = out_dir / f"{name}.png"
                page.screenshot(path=str(path))
                shots.append(path)
    return shots


if __name__ == "__main__":
    for shot in capture(ROOT / "docs" / "screenshots"):
        print(shot.relative_to(ROOT))
