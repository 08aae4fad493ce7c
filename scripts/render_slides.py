"""Render slides of the exported meeting pack to PNG for docs/, the way a recipient's office suite shows them.

    .venv/bin/python scripts/render_slides.py

Loads the demo story into a temporary database, exports the September 2023 pack as PPTX through the
command line, converts it with LibreOffice (Debian package libreoffice-impress) to PDF and writes the
one-page summary and the community matrix as docs/meeting-summary.png and docs/meeting-matrix.png.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worktrack import export  # noqa: E402
from worktrack.plan import load_plan  # noqa: E402
from worktrack.progress import status_from_store  # noqa: E402
from worktrack.store import Store  # noqa: E402

AS_OF = "2023-09"
WANTED = {"summary": "meeting-summary.png", "matrix": "meeting-matrix.png", "headline": "meeting-slide.png"}


def main() -> int:
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None or shutil.which("pdftoppm") is None:
        print("需要 LibreOffice 和 poppler-utils：apt-get install libreoffice-impress poppler-utils", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="worktrack-render-") as tmp:
        tmp_path = Path(tmp)
        db = tmp_path / "demo.duckdb"
        python = sys.executable
        subprocess.run([python, "-m", "worktrack", "--db", str(db), "demo", "--out", str(tmp_path / "samples")],
                       check=True, capture_output=True, cwd=ROOT)
        pack = tmp_path / "meeting.pptx"
        subprocess.run([python, "-m", "worktrack", "--db", str(db), "export", "--as-of", AS_OF, "--format", "pptx",
                        "-o", str(pack)], check=True, capture_output=True, cwd=ROOT)
        plan = load_plan(ROOT / "targets.yaml")
        deck = export.slide_deck(plan, status_from_store(plan, Store(db), AS_OF))
        subprocess.run([office, "--headless", f"-env:UserInstallation=file://{tmp_path / 'profile'}",
                        "--convert-to", "pdf", "--outdir", str(tmp_path), str(pack)],
                       check=True, capture_output=True, timeout=300)
        for kind, name in WANTED.items():
            page = next(i for i, s in enumerate(deck, start=1) if s.kind == kind)
            stem = tmp_path / kind
            subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", str(page), "-l", str(page), "-singlefile",
                            str(tmp_path / "meeting.pdf"), str(stem)], check=True)
            shutil.copy(stem.with_suffix(".png"), ROOT / "docs" / name)
            print(f"docs/{name}: slide {page} ({deck[page - 1].title})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
