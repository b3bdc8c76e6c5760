"""The report of a time-series model: the series view with the flagged intervals."""

import re

import numpy as np
from series_data import planted_series

from latentwatch import VAEDetector
from latentwatch.report import _headings
from latentwatch.report.scored import score_for_report
from latentwatch.report.series_section import series_section


def test_the_series_view_shows_the_fault_as_a_flagged_interval():
    frame, labels = planted_series()
    model = VAEDetector(time_column="when", window=12, max_epochs=5, random_state=0,
                        schema={"exclude": ["label"]}).fit(frame.iloc[:480])
    scored = score_for_report(model, frame, labels)
    assert ("series", "Time series") in _headings(model, scored)
    section = series_section(model, scored)
    assert section.startswith('<img alt="Series, score, threshold and flagged intervals"')
    assert "window of its last 12 steps" in section
    first = re.search(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td class=\"num\">(\d+)</td>"
                      r"<td class=\"num\">[^<]+</td><td>([^<]+)</td>", section)
    assert first is not None  # the highest-peaked interval is listed first
    start, end = np.datetime64(first.group(1)), np.datetime64(first.group(2))
    fault_start = np.datetime64(frame["when"].iat[560])
    fault_end = np.datetime64(frame["when"].iat[579])
    assert start <= fault_end and end >= fault_start  # it overlaps the planted fault
    assert "b " in first.group(4)  # the faulty channel is named


def test_a_table_model_has_no_series_view():
    X = np.random.default_rng(0).normal(size=(200, 3))
    model = VAEDetector(max_epochs=2, random_state=0).fit(X)
    assert "series" not in dict(_headings(model, score_for_report(model, X)))
