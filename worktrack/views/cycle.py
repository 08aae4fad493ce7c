"""The monthly cycle in words: 催报 messages, review states and findings, banners and markers.

The language is a required argument everywhere; the sentences are in worktrack/locales (section
`cycle`). Codes and numbers come from `worktrack.cycle` and the store.
"""

from __future__ import annotations

from typing import Any

from worktrack.i18n import translate
from worktrack.plan import Plan
from worktrack.views.format import bracket, date_label, format_amount, join_list, metric_name, month_label


def review_state_label(state: str | None, lang: str) -> str:
    """待审核 / 已通过 / 已退回 (pending / approved / returned); a dash for nothing filed."""
    return translate(f"cycle.review_state.{state}", lang) if state else "-"


def remind_state_label(state: str, lang: str) -> str:
    """未报 / 迟报 / 已退回未重报 / 待审核 / 已通过."""
    return translate(f"cycle.remind_state.{state}", lang)


def pending_marker(lang: str) -> str:
    """The mark beside a figure that includes reports nobody has reviewed yet: 含待审核."""
    return translate("cycle.marker", lang)


def marked(text: str, includes_pending: Any, lang: str) -> str:
    """A formatted figure with the 含待审核 mark when it includes unreviewed data."""
    return text + bracket(pending_marker(lang), lang) if bool(includes_pending) else text


def figures_banner(report: Any, lang: str) -> str:
    """Which reports the figures on screen come from: approved only, or also the unreviewed ones."""
    if report.approved_only:
        return translate("cycle.banner_approved", lang)
    if report.includes_pending:
        return translate("cycle.banner_pending", lang, marker=pending_marker(lang))
    return translate("cycle.banner_all_approved", lang)


def returned_notice(month: str, version: int, reason: str, reviewer: str | None, lang: str) -> str:
    """What the unit reads on its 上报 page while its report stays returned."""
    return translate("cycle.returned_notice", lang, month=month_label(month, lang), version=version,
                     reason=reason, reviewer=reviewer or "-")


def finding_text(plan: Plan, finding: Any, lang: str) -> str:
    """One review finding as a sentence: a figure far above the unit's usual, or typed cumulatively."""
    metric = plan.metrics[finding.item]
    value = format_amount(finding.value, metric.measure, lang, metric=metric)
    reference = format_amount(finding.reference, metric.measure, lang, metric=metric)
    return translate(f"cycle.finding.{finding.code}", lang, metric=metric_name(plan, finding.item, lang),
                     value=value, reference=reference)


def remind_message(report: Any, unit: Any, lang: str) -> str:
    """The ready-to-send reminder for one unit (month, what is missing, due day, contact); "" when
    there is nothing to chase."""
    values = {"unit": unit.reporting_unit, "month": month_label(report.month, lang),
              "due": date_label(report.due_date, lang), "contact": report.contact,
              "reason": unit.review_reason, "version": unit.version}
    if unit.state == "missing":
        key = "cycle.message.missing_overdue" if report.as_of_date > report.due_date else "cycle.message.missing"
        return translate(key, lang, **values)
    if unit.state == "returned":
        return translate("cycle.message.returned", lang, **values)
    if unit.state == "late":
        return translate("cycle.message.late", lang, **values)
    return ""


def group_message(report: Any, lang: str) -> str:
    """The one message for the WeChat group: who has not filed, who must refile, the due day and contact."""
    missing = [u.reporting_unit for u in report.units if u.state == "missing"]
    returned = [u.reporting_unit for u in report.units if u.state == "returned"]
    month, due = month_label(report.month, lang), date_label(report.due_date, lang)
    if not missing and not returned:
        return translate("cycle.group.all_in", lang, month=month, contact=report.contact)
    parts = [translate("cycle.group.head", lang, month=month)]
    if missing:
        parts.append(translate("cycle.group.missing", lang, units=join_list(missing, lang)))
    if returned:
        parts.append(translate("cycle.group.returned", lang, units=join_list(returned, lang)))
    parts.append(translate("cycle.group.tail", lang, due=due, contact=report.contact))
    return "".join(parts) if lang == "zh" else " ".join(parts)


def reminder_dict(report: Any, lang: str) -> dict[str, Any]:
    """The `remind --json` document: month, due_date, units (reporting_unit, state, message), group_message."""
    return {
        "month": report.month,
        "due_date": report.due_date.isoformat(),
        "as_of_date": report.as_of_date.isoformat(),
        "contact": report.contact,
        "units": [{"reporting_unit": u.reporting_unit, "state": u.state, "message": remind_message(report, u, lang),
                   "upload_id": u.upload_id, "version": u.version,
                   "received_at": u.received_at.isoformat(sep=" ") if u.received_at else None,
                   "review_reason": u.review_reason}
                  for u in report.units],
        "group_message": group_message(report, lang),
    }


def blocking_lines(blocking: list[dict[str, Any]], lang: str) -> list[str]:
    """Why a month cannot be closed: one line per report still pending or returned."""
    return [translate("cycle.blocking_line", lang, id=b["upload_id"], unit=b["reporting_unit"],
                      month=month_label(b["month"], lang), version=b["version"],
                      state=review_state_label(b["review_state"], lang)) for b in blocking]


def review_notice(active: Any, lang: str) -> str | None:
    """Where the selected month's active report stands in review (pending or approved), or None
    (nothing filed, or returned: the returned notice says that)."""
    if not len(active):
        return None
    row = active.iloc[-1]
    if row["review_state"] == "returned":
        return None
    return translate(f"cycle.{row['review_state']}_notice", lang, month=month_label(row["month"], lang),
                     version=int(row["version"]))
