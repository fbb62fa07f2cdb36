"""Chunking, plan windows and estimates: the numbers --check-status and --dry-run print."""
from datetime import date

from utils import planning


def test_month_chunks_first_and_last_partial():
    chunks = planning.month_chunks(date(2018, 8, 15), date(2018, 11, 3))
    assert [c.label for c in chunks] == [
        "2018-08-15 to 2018-08-31", "2018-09-01 to 2018-09-30",
        "2018-10-01 to 2018-10-31", "2018-11-01 to 2018-11-03"]
    assert [c.index for c in chunks] == [1, 2, 3, 4]
    days = [d for c in chunks for d in c.days()]
    assert len(days) == len(set(days)) == (date(2018, 11, 3) - date(2018, 8, 15)).days + 1


def test_month_chunks_single_day_and_leap_february():
    assert [c.label for c in planning.month_chunks(date(2024, 2, 29), date(2024, 2, 29))] == [
        "2024-02-29 to 2024-02-29"]
    feb = planning.month_chunks(date(2024, 2, 1), date(2024, 3, 1))
    assert feb[0].end == date(2024, 2, 29) and len(feb) == 2


def test_racecard_window():
    today = date(2026, 11, 29)
    assert not planning.racecards_servable(date(2023, 1, 22), today)
    assert planning.racecards_servable(date(2023, 1, 23), today)
    assert planning.racecards_servable(date(2026, 12, 6), today)
    assert not planning.racecards_servable(date(2026, 12, 7), today)


def test_estimate_counts_calls_per_endpoint():
    today = date(2026, 11, 29)
    days = list(planning.days_between(date(2023, 1, 20), date(2023, 1, 25)))
    est = planning.estimate(days, today)
    assert est.days == 6
    assert est.racecard_calls == 3 and est.racecard_days_skipped == 3
    assert est.results_calls == 6
    # each endpoint's own budget, both busy at once: the slower one sets the pace
    assert est.seconds() == max(6 / 5, 3 / 2)
    only_results = planning.estimate(days, today, racecards=False)
    assert only_results.racecard_calls == 0 and only_results.racecard_days_skipped == 0


def test_estimate_skips_results_in_the_future():
    today = date(2026, 11, 29)
    est = planning.estimate(planning.days_between(today, date(2026, 12, 3)), today)
    assert est.results_calls == 1 and est.racecard_calls == 5


def test_format_duration():
    assert planning.format_duration(42) == "42s"
    assert planning.format_duration(125) == "2m 05s"
    assert planning.format_duration(3 * 3600 + 61) == "3h 01m"
