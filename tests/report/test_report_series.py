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
                      r"<td class=\"num\">[^<]+</td><td>[^<]+</td><td>([^<]+)</td>", section)
    assert first is not None  # the highest-peaked interval is listed first
    start, end = np.datetime64(first.group(1)), np.datetime64(first.group(2))
    fault_start = np.datetime64(frame["when"].iat[560])
    fault_end = np.datetime64(frame["when"].iat[579])
    assert start <= fault_end and end >= fault_start  # it overlaps the planted fault
    assert first.group(4).startswith("b ")  # the faulty channel carries most of its nats


def test_the_score_axis_shows_the_threshold_region_and_the_zoom_the_bulk():
    from latentwatch.report.data_sections import bulk_high
    from latentwatch.report.series_section import score_axis

    rng = np.random.default_rng(0)
    scores = np.r_[rng.normal(-80.0, 10.0, 2000), np.linspace(500.0, 30000.0, 100)]
    bottom, top = score_axis(scores, cut=-55.0)
    assert bottom < -100 and -55.0 < top < 0  # the bulk and the threshold, not 30,000
    assert -65 < bulk_high(scores[:2000]) < -50 < bulk_high(scores) < 0  # not in the tail


def test_a_peak_far_above_the_threshold_is_drawn_at_the_top_of_the_score_axis():
    frame, labels = planted_series()
    frame.loc[600:602, "a"] = 1e3
    model = VAEDetector(time_column="when", window=12, max_epochs=5, random_state=0,
                        schema={"exclude": ["label"]}).fit(frame.iloc[:480])
    section = series_section(model, score_for_report(model, frame, labels))
    assert re.search(r"The score axis shows the threshold region: \d+ scores above [^ ]+ are "
                     "drawn as triangles at its top", section)


def test_a_table_model_has_no_series_view():
    X = np.random.default_rng(0).normal(size=(200, 3))
    model = VAEDetector(max_epochs=2, random_state=0).fit(X)
    assert "series" not in dict(_headings(model, score_for_report(model, X)))
