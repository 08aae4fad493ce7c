"""Registers (台账) in words and tables: the receipt of a register file, the register screen's tables.

Numbers come from the store and `worktrack.registers`; this module only says them, in either language.
Rows shown here never hold a full ID number (the store has none); names are masked unless the caller
passes `unmasked=True`, which only the filing unit's own view does (and the store audits it).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from worktrack.i18n import translate


def kind_title(kind: str, lang: str = "zh") -> str:
    """适老化改造台账 / Retrofit register."""
    return translate(f"registers2.kinds.{kind}", lang)


def _what(kind: str, n: int, lang: str) -> str:
    return translate(f"registers2.what.{kind}", lang) if lang == "zh" or n != 1 else \
        translate(f"registers2.what_one.{kind}", lang)


def register_receipt_sentence(result: Any, lang: str = "zh") -> str:
    """新增 2 户，1 户已在 2023-06 计入；… — what an accepted register file adds to the counts."""
    kind = result.kind
    parts = [translate("registers2.receipt_new", lang, n=result.counted, what=_what(kind, result.counted, lang))]
    for month, n in (result.already_counted_in or {}).items():
        parts.append(translate("registers2.receipt_already", lang, n=n, what=_what(kind, n, lang),
                               month=month))
    undated = result.already_counted - sum((result.already_counted_in or {}).values())
    if undated:
        parts.append(translate("registers2.receipt_already_before", lang, n=undated, what=_what(kind, undated, lang)))
    if result.counted_elsewhere:
        units = sorted({u for d in result.counted_elsewhere for u in d["units"]})
        n = len(result.counted_elsewhere)
        parts.append(translate("registers2.receipt_elsewhere", lang, n=n, what=_what(kind, n, lang),
                               units=translate("registers2.list_sep", lang).join(units)))
    if result.not_counted:
        parts.append(translate("registers2.receipt_not_accepted", lang, n=result.not_counted))
    return translate("registers2.clause_sep", lang).join(parts) + translate("registers2.sentence_end", lang)


# Columns a register table shows, per kind (keys of the stored row or of its `fields`).
_SHOWN = {
    "retrofit_register": ("reporting_unit", "month", "person", "id_masked", "category", "items", "cost", "contractor",
                          "completed_on", "event_date"),
    "donation_register": ("reporting_unit", "month", "person", "donor_type", "category", "cash", "goods",
                          "goods_value", "event_date", "receipt"),
    "help_register": ("reporting_unit", "month", "person", "id_masked", "category", "cash", "service", "event_date",
                      "project"),
}


def register_table(rows: pd.DataFrame, kind: str, lang: str = "zh", *, unmasked_unit: str | None = None,
                   search: str = "") -> pd.DataFrame:
    """One register as the screen shows it: masked names, masked ID numbers, never a hash.

    unmasked_unit: rows filed by this unit show the full name (the caller has checked the viewer is
    that unit and audits the view). search: keeps rows where any shown cell contains the text (names
    are searched as shown, so a masked name cannot be found by its hidden characters).
    """
    from worktrack.registers.kinds import KINDS

    labels = {c.key: c.label for c in KINDS[kind].columns}
    out: dict[str, list[Any]] = {key: [] for key in _SHOWN[kind]}
    part = rows[rows["kind"] == kind] if len(rows) else rows
    for row in part.itertuples(index=False):
        fields = json.loads(row.fields) if row.fields else {}
        for key in _SHOWN[kind]:
            if key == "person":
                value = row.person_name if unmasked_unit and row.reporting_unit == unmasked_unit else row.name_masked
            elif key in ("reporting_unit", "month", "id_masked", "category"):
                value = getattr(row, key)
            elif key == "event_date":
                value = row.event_date.isoformat() if row.event_date is not None and row.event_date == row.event_date \
                    else ""
            elif key in ("cash", "goods_value") and key not in fields:
                amount = getattr(row, key)
                value = "" if amount is None or amount != amount else f"{amount:,.2f}"
            else:
                value = fields.get(key, "")
            out[key].append("" if value is None else str(value))
    names = {key: _column_name(key, kind, labels, lang) for key in _SHOWN[kind]}
    table = pd.DataFrame({names[key]: values for key, values in out.items()})
    if search.strip() and len(table):
        needle = search.strip().lower()
        keep = table.apply(lambda r: any(needle in str(v).lower() for v in r), axis=1)
        table = table[keep].reset_index(drop=True)
    return table


def _column_name(key: str, kind: str, labels: dict[str, str], lang: str) -> str:
    if key == "person":
        key = "donor" if kind == "donation_register" else "person_name"
    if lang == "zh":
        return labels.get("id_number" if key == "id_masked" else key, key)
    return translate(f"registers2.columns.{key}", lang)


def duplicates_table(found: list[dict[str, Any]], lang: str = "zh") -> pd.DataFrame:
    """Households and people registered by more than one unit: who counts them, who else registered them."""
    columns = [translate(f"registers2.dup_{c}", lang) for c in ("kind", "id", "name", "counted_for", "also", "first")]
    sep = translate("registers2.list_sep", lang)
    return pd.DataFrame([[kind_title(d["kind"], lang), d["id_masked"] or "", d["name_masked"], d["counted_for"],
                          sep.join(d["also_registered_by"]), d["first_date"]] for d in found], columns=columns)


def register_counts_table(plan: Any, figures: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Per unit and metric: the total counted from registers (each household and person once)."""
    from worktrack.views.format import metric_name

    columns = [translate(f"registers2.count_{c}", lang) for c in ("unit", "metric", "value")]
    if not len(figures):
        return pd.DataFrame(columns=columns)
    totals = figures.groupby(["reporting_unit", "item"], as_index=False, sort=False)["value"].sum()
    rank = {name: i for i, name in enumerate(plan.unit_names)}
    totals = totals.assign(rank=totals["reporting_unit"].map(rank)).sort_values(["rank", "item"])
    rows = []
    for unit, item, value in zip(totals["reporting_unit"], totals["item"], totals["value"], strict=True):
        measure = plan.metrics[item].measure
        number = f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"
        rows.append([unit, metric_name(plan, item, lang), f"{number} {measure}" if lang == "zh" else number])
    return pd.DataFrame(rows, columns=columns)


def register_history_table(uploads: pd.DataFrame, unit: str, lang: str = "zh") -> pd.DataFrame:
    """One unit's register uploads, newest first: register, month, version, state, rows, when, by whom."""
    keys = ("kind", "month", "version", "state", "rows", "received_at", "submitted_by")
    columns = [translate(f"registers2.history_columns.{k}", lang) for k in keys]
    mine = uploads[uploads["reporting_unit"] == unit].sort_values("upload_id", ascending=False) if len(uploads) \
        else uploads
    rows = [[kind_title(r.kind, lang), r.month, int(r.version), translate(f"registers2.states.{r.state}", lang),
             int(r.row_count), str(r.received_at)[:19], r.submitted_by] for r in mine.itertuples(index=False)]
    return pd.DataFrame(rows, columns=columns)


def register_row_label(row: Any, kind: str) -> str:
    """One row in a picker, masked: 天剑社区 2023-06 第 2 行 · 张*明 · 4301**********1234 · 2023-06-10."""
    day = row.event_date.isoformat() if row.event_date is not None and row.event_date == row.event_date else "—"
    parts = [f"{row.reporting_unit} {row.month} #{row.source_row}", row.name_masked]
    if row.id_masked:
        parts.append(row.id_masked)
    if kind == "donation_register":
        fields = json.loads(row.fields) if row.fields else {}
        parts.append(fields.get("receipt", ""))
    parts.append(day)
    return " · ".join(p for p in parts if p)
