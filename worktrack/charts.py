"""Data in -> Plotly Figure out. Pure functions; Chinese labels by default.

Months are always a category axis with Chinese labels ("2023年9月"), never Plotly's date axis
(which would print "Sep 2023"). Status colours come from a colour-blind-safe palette (Okabe-Ito /
Tol) and every coloured mark also carries its status label as text.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from worktrack.i18n import translate
from worktrack.plan import Plan
from worktrack.views.format import (  # noqa: F401  (month_label, status_label: also imported from here)
    STATUS_ICONS,
    format_amount,
    is_missing,
    money_scale,
    month_label,
    short_month_label,
    status_label,
)

# Okabe-Ito / Paul Tol colours, distinguishable with the common colour-vision deficiencies.
STATUS_COLORS = {
    "done": "#009E73",
    "on_track": "#0072B2",
    "at_risk": "#E69F00",
    "behind": "#D55E00",
    "overdue": "#882255",
    "exceeded": "#882255",
    "not_started": "#999999",
}
SERIES_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
                 "#999999", "#882255", "#44AA99", "#117733", "#332288"]
FONT = "Noto Sans CJK SC, WenQuanYi Micro Hei, Microsoft YaHei, PingFang SC, sans-serif"


def _figure(data: list, *, height: int, title: str | None = None, legend: bool = True, xaxis: dict | None = None,
            yaxis: dict | None = None, **layout) -> go.Figure:
    """The house layout around some traces, built in one go.

    Handing Plotly the whole layout at construction validates it once; the equivalent chain of
    update_layout / update_xaxes / update_yaxes calls costs five times as much, which adds up on
    a page with a dozen charts.
    """
    return go.Figure(data=data, layout={
        "height": height, "title": title, "font": {"family": FONT, "size": 14},
        "margin": {"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        "showlegend": legend, "legend": {"orientation": "h", "yanchor": "top", "y": -0.18, "x": 0},
        "plot_bgcolor": "white", "paper_bgcolor": "white", "separators": ".,",
        "xaxis": {**(xaxis or {}), "showgrid": False},
        "yaxis": {**(yaxis or {}), "gridcolor": "#e6e9ef", "zeroline": False},
        **layout,
    })


def _titled(name: str, unit_label: str) -> str:
    """'帮扶人数' + '人' -> '帮扶人数（人）'; '帮扶人数（按类别）' -> '帮扶人数（按类别，人）'."""
    if not name:
        return unit_label
    if name.endswith("）"):
        return f"{name[:-1]}，{unit_label}）"
    if name.endswith(")"):
        return f"{name[:-1]}, {unit_label})"
    return f"{name}（{unit_label}）"


def trajectory_chart(traj: pd.DataFrame, *, name: str, measure: str, lang: str = "zh",
                     height: int = 340) -> go.Figure:
    """Cumulative actual vs the expected path vs the forecast to the deadline, for one target."""
    scale, unit_label = money_scale(list(traj["expected_cumulative"]) + list(traj["actual_cumulative"].dropna()),
                                    measure, lang)
    x = [month_label(m, lang) for m in traj["month"]]
    hover = "%{x}<br>%{y:,.2f}" + unit_label + "<extra>%{fullData.name}</extra>"
    data = [
        go.Scatter(x=x, y=traj["expected_cumulative"] / scale, name=translate("chart.expected", lang), mode="lines",
                   line={"color": "#999999", "dash": "dot", "width": 2}, hovertemplate=hover),
        go.Scatter(x=x, y=traj["actual_cumulative"] / scale, name=translate("chart.actual", lang),
                   mode="lines+markers", line={"color": "#0072B2", "width": 3}, marker={"size": 7}, hovertemplate=hover),
    ]
    if traj["forecast"].notna().any():
        data.append(go.Scatter(x=x, y=traj["forecast"] / scale, name=translate("chart.forecast", lang), mode="lines",
                               line={"color": "#E69F00", "dash": "dash", "width": 2}, hovertemplate=hover))
    return _figure(data, height=height, title=name, xaxis={"type": "category"},
                   yaxis={"title": {"text": unit_label}, "rangemode": "tozero"})


def sparkline(months: list[str], values: list[float], lang: str = "zh", color: str = "#0072B2") -> go.Figure:
    """A tiny trend line for a headline card (no axes, no legend)."""
    return go.Figure(
        go.Scatter(x=[month_label(m, lang) for m in months], y=values, mode="lines+markers",
                   line={"color": color, "width": 2}, marker={"size": 4}, hovertemplate="%{x}: %{y:,.0f}<extra></extra>"),
        layout={"height": 70, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "showlegend": False,
                "plot_bgcolor": "white", "paper_bgcolor": "white",
                "xaxis": {"visible": False, "type": "category"}, "yaxis": {"visible": False, "rangemode": "tozero"}})


def unit_comparison_chart(rows: pd.DataFrame, *, name: str, measure: str, lang: str = "zh",
                          height: int = 320) -> go.Figure:
    """Per-community actual (bar, coloured by status and labelled) against quota, with the expected marker.

    rows: reporting_unit, actual, target, expected, status.
    """
    scale, unit_label = money_scale(list(rows["target"]) + list(rows["actual"]), measure, lang)
    units = list(rows["reporting_unit"])
    labels = [f"{format_amount(a, measure, lang)} · {status_label(s, lang)}"
              for a, s in zip(rows["actual"], rows["status"], strict=True)]
    data = [
        go.Bar(y=units, x=rows["target"] / scale, orientation="h", name=translate("chart.quota", lang),
               marker={"color": "#eef1f5", "line": {"color": "#b8c0cc", "width": 1}}, hoverinfo="skip"),
        go.Bar(y=units, x=rows["actual"] / scale, orientation="h", name=translate("chart.actual", lang),
               marker={"color": [STATUS_COLORS.get(s, "#0072B2") for s in rows["status"]]},
               text=labels, textposition="outside", cliponaxis=False,
               hovertemplate="%{y}: %{x:,.2f}" + unit_label + "<extra></extra>"),
        go.Scatter(y=units, x=rows["expected"] / scale, mode="markers", name=translate("chart.expected_marker", lang),
                   marker={"symbol": "line-ns", "size": 26, "line": {"width": 3, "color": "#1b1f24"}},
                   hovertemplate="%{y} " + translate("chart.expected", lang) + ": %{x:,.2f}" + unit_label
                   + "<extra></extra>"),
    ]
    peak = max([0.0, *(rows["target"] / scale), *(rows["actual"] / scale), *(rows["expected"] / scale)])
    # room on the right for the value and status label printed beside each bar
    # the measure goes into the title: an axis title would collide with the legend below the plot
    return _figure(data, height=height, title=_titled(name, unit_label), barmode="overlay",
                   xaxis={"range": [0, peak * 1.45 or 1]},
                   yaxis={"autorange": "reversed", "type": "category"})


def monthly_bars(frame: pd.DataFrame, *, category: str, name: str, measure: str, lang: str = "zh",
                 height: int = 340) -> go.Figure:
    """Stacked monthly bars by category (fund channel, aid category). frame: month, <category>, value."""
    scale, unit_label = money_scale(frame.groupby("month")["value"].sum().tolist() if len(frame) else [], measure,
                                    lang)
    months = sorted(frame["month"].unique()) if len(frame) else []
    one_year = len({m[:4] for m in months}) == 1
    # within one year "9月" is enough, and fits under a bar without tilting
    x = [short_month_label(m, lang) if one_year else month_label(m, lang) for m in months]
    data = []
    for i, (cat, part) in enumerate(frame.groupby(category, sort=False)):
        by_month = part.groupby("month")["value"].sum().reindex(months, fill_value=0)
        if not by_month.any():
            continue
        data.append(go.Bar(x=x, y=by_month.to_numpy() / scale, name=str(cat),
                           marker={"color": SERIES_COLORS[i % len(SERIES_COLORS)]},
                           hovertemplate="%{x} " + str(cat) + ": %{y:,.2f}" + unit_label + "<extra></extra>"))
    return _figure(data, height=height, title=name, barmode="stack", xaxis={"type": "category"},
                   yaxis={"title": {"text": unit_label}, "rangemode": "tozero"})


def category_bars(frame: pd.DataFrame, *, category: str, name: str, measure: str, lang: str = "zh",
                  height: int = 300) -> go.Figure:
    """Totals per category as labelled horizontal bars. frame: <category>, value."""
    totals = frame.groupby(category, sort=False)["value"].sum()
    scale, unit_label = money_scale(list(totals), measure, lang)
    bars = go.Bar(
        y=[str(c) for c in totals.index], x=totals.to_numpy() / scale, orientation="h",
        marker={"color": "#0072B2"}, text=[format_amount(v, measure, lang) for v in totals], textposition="outside",
        cliponaxis=False, hovertemplate="%{y}: %{x:,.2f}" + unit_label + "<extra></extra>",
    )
    return _figure([bars], height=height, title=_titled(name, unit_label), legend=False,
                   xaxis={"range": [0, (max(totals, default=0) / scale) * 1.3 or 1]},
                   yaxis={"autorange": "reversed", "type": "category"})


def status_donut(counts: dict[str, int], lang: str = "zh", height: int = 260) -> go.Figure:
    """Targets per status, labelled with the status word and count."""
    items = [(s, n) for s, n in counts.items() if n]
    pie = go.Pie(
        labels=[status_label(s, lang) for s, _ in items], values=[n for _, n in items], hole=0.55,
        marker={"colors": [STATUS_COLORS[s] for s, _ in items]}, textinfo="label+value", sort=False,
        textposition="inside", insidetextorientation="horizontal",
    )
    return _figure([pie], height=height, legend=False)


def metric_chart(plan: Plan, metric_id: str, traj: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """The standard chart of one metric: its street (or first) target's trajectory."""
    from worktrack.views.format import metric_name

    metric = plan.metrics[metric_id]
    return trajectory_chart(traj, name=metric_name(plan, metric_id, lang, short=False), measure=metric.measure,
                            lang=lang)
