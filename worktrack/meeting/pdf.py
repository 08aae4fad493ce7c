"""The deck as a PDF: the same slides as the PPTX, printed from their HTML by headless Chromium."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from worktrack.i18n import translate
from worktrack.meeting.html import deck_html
from worktrack.meeting.slides import Slide
from worktrack.plan import Plan
from worktrack.progress import StatusReport

INSTALL_HINT = "apt-get install chromium fonts-noto-cjk"
PDF_TIMEOUT_SECONDS = 120


class ExportUnavailable(RuntimeError):
    """A prerequisite for this export is missing; the message says what to install."""


def chromium_path() -> str | None:
    """The Chromium binary: WORKTRACK_CHROMIUM if set (even when it does not exist), else from PATH."""
    from worktrack import config

    configured = config.settings().chromium
    if configured:
        return str(configured)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def cjk_fonts() -> list[str]:
    """Font families fontconfig offers for Chinese (empty when none, or fontconfig is missing)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return []
    try:
        out = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted({line.split(",")[0].strip() for line in out.splitlines() if line.strip()})


def pdf_problem(lang: str = "zh") -> str | None:
    """Why a PDF cannot be printed here (with what to install), or None when it can."""
    path = chromium_path()
    if path is None or not Path(path).is_file() or not os.access(path, os.X_OK):
        return translate("meeting.pdf_no_chromium", lang, path=path or "chromium", hint=INSTALL_HINT)
    if not cjk_fonts():
        return translate("meeting.pdf_no_fonts", lang, hint=INSTALL_HINT)
    return None


def print_html(document: str, output: Path, *, screenshot: tuple[int, int] | None = None, lang: str = "zh") -> None:
    """Print an HTML document to PDF (or screenshot it to PNG) with headless Chromium."""
    problem = pdf_problem(lang)
    if problem:
        raise ExportUnavailable(problem)
    chromium = chromium_path()
    assert chromium is not None
    with tempfile.TemporaryDirectory(prefix="worktrack-print-") as tmp:
        source = Path(tmp) / "deck.html"
        source.write_text(document, encoding="utf-8")
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", f"--user-data-dir={Path(tmp) / 'profile'}"]
        if screenshot is not None:
            args += [f"--window-size={screenshot[0]},{screenshot[1]}", f"--screenshot={output}"]
        else:
            args += ["--no-pdf-header-footer", f"--print-to-pdf={output}"]
        args.append(source.as_uri())
        try:
            result = subprocess.run(args, capture_output=True, text=True, timeout=PDF_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise ExportUnavailable(translate("meeting.pdf_failed", lang, detail="timeout")) from None
        if not output.is_file() or output.stat().st_size == 0:
            detail = (result.stderr or result.stdout or "").strip().splitlines()[-1:] or [str(result.returncode)]
            raise ExportUnavailable(translate("meeting.pdf_failed", lang, detail=detail[0][:300]))


def pdf_bytes(plan: Plan, report: StatusReport, *, lang: str = "zh", generated: dt.date | None = None,
              slides: list[Slide] | None = None) -> bytes:
    """The deck as a 16:9 PDF (one page per slide) with embedded CJK fonts; ExportUnavailable if it cannot be printed."""
    problem = pdf_problem(lang)
    if problem:
        raise ExportUnavailable(problem)
    document = deck_html(plan, report, lang=lang, generated=generated, slides=slides)
    with tempfile.TemporaryDirectory(prefix="worktrack-pdf-") as tmp:
        output = Path(tmp) / "deck.pdf"
        print_html(document, output, lang=lang)
        return output.read_bytes()
