"""CSV/XLSX monthly report -> normalised rows + a validation report (errors are data, never raised)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from worktrack.plan import Plan

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class Finding:
    """One error, warning or normalisation, located as Excel shows it (header = row 1)."""

    code: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "row": self.row, "column": self.column, "value": self.value,
                "message": self.message}


@dataclass(frozen=True)
class FactRow:
    """One accepted row: a metric value (value set) or a task status (status set)."""

    reporting_unit: str
    month: str  # YYYY-MM
    item: str
    category: str  # "" when the item has no categories
    value: float | None
    status: str | None
    note: str
    row: int  # Excel row number in the source file


@dataclass
class IntakeReport:
    """The outcome of reading one file: rows if clean, and every finding."""

    file: str
    sha256: str
    size: int
    reporting_unit: str | None = None
    month: str | None = None
    rows: list[FactRow] = field(default_factory=list)
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    normalised: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def needs_confirmation(self) -> bool:
        return not self.errors and bool(self.warnings)

    def flat(self, kind: Literal["errors", "warnings", "normalised"] = "errors") -> list[tuple]:
        """(code, row, column) triples, the form tests assert on."""
        return [(f.code, f.row, f.column) for f in getattr(self, kind)]

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "sha256": self.sha256, "reporting_unit": self.reporting_unit,
                "month": self.month, "rows": [asdict(r) for r in self.rows],
                "errors": [f.as_dict() for f in self.errors], "warnings": [f.as_dict() for f in self.warnings],
                "normalised": [f.as_dict() for f in self.normalised]}


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_report(data: bytes, filename: str, plan: Plan, *, unit: str | None = None, month: str | None = None,
                uploader_unit: str | None = None, max_bytes: int = MAX_UPLOAD_BYTES) -> IntakeReport:
    """Parse and validate one monthly report file. Never raises on bad input."""
    raise NotImplementedError
