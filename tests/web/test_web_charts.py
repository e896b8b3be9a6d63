"""SVG charts: well-formed, one mark per value, scaled to the largest value, no external refs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from marketops.reports import charts

NS = "{http://www.w3.org/2000/svg}"


def _marks(svg: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [e for e in root.iter() if e.get("class") == "mark"]


def test_hbar_draws_one_bar_per_item_proportional_to_its_value() -> None:
    svg = charts.hbar([("Known", 200), ("MQL", 50), ("<SAL & co>", 0)], "Funnel")
    marks = _marks(svg)
    assert [float(m.get("data-value")) for m in marks] == [200, 50, 0]
    widths = [float(m.get("width")) for m in marks]
    assert abs(widths[1] / widths[0] - 0.25) < 0.01 and widths[2] == 0
    assert "&lt;SAL &amp; co&gt;" in svg  # labels are escaped
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_vbar_axis_is_round_and_covers_the_data() -> None:
    svg = charts.vbar([("w1", 3), ("w2", 7), ("w3", 0)], "MQLs")
    root = ET.fromstring(svg)
    ticks = [t.text for t in root.iter(f"{NS}text") if t.get("text-anchor") == "end"]
    assert ticks == ["0", "2", "4", "6", "8"]
    heights = [float(m.get("height")) for m in _marks(svg)]
    assert abs(heights[0] / heights[1] - 3 / 7) < 0.01


def test_grouped_and_line_charts_mark_every_value_and_empty_data_says_so() -> None:
    g = charts.grouped(["email", "search"], [("linear", [1.5, 2.5]), ("markov", [2.0, 2.0])], "x")
    assert len(_marks(g)) == 4
    ln = charts.line([("validity", [0.9, None, 0.95])], ["a", "b", "c"], "trend", y_max=1.0)
    assert [m.get("data-value") for m in _marks(ln)] == ["0.9", "0.95"]
    assert "no data yet" in charts.hbar([], "empty") and _marks(charts.hbar([], "e")) == []
