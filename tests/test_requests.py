"""The typed requests of ``utils/commands/requests.py`` match the options their commands declare.

Why: a request takes each option by its field's name (``declared_options``), so a field whose name
drifts from the option's destination would silently keep its default (the option would do
nothing), and an option no request reads would be dead. These tests hold each command's option
tuple against its request, and check the values a real parsed command line gives.
"""
from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from utils.commands.backfill_all import ALL_OPTIONS
from utils.commands.cli import OPTIONS, build_parser
from utils.commands.enrich import ENRICH_OPTIONS
from utils.commands.events import EVENTS_OPTIONS
from utils.commands.init_db import INIT_OPTIONS
from utils.commands.masters import MASTERS_OPTIONS
from utils.commands.report import REPORT_OPTIONS
from utils.commands.requests import (
    AllOptions,
    EnrichOptions,
    EventsOptions,
    InitOptions,
    MastersOptions,
    RangeOptions,
    ReportOptions,
    Target,
)
from utils.commands.verify import VERIFY_OPTIONS
from utils.errors import ConfigError

LOGGING = {"log_format", "quiet"}          # read by setup_logging in every script, before the request
DERIVED = {"regions_given"}                # computed from args.given, not an option of its own
NESTED = {"target", "events", "enrich"}    # the parts a request composes
# (request, the options its script declares: the shared ones, plus the script's own add_argument)
COMMANDS = {
    "backfill_events": (EventsOptions, EVENTS_OPTIONS),
    "enrich_horses": (EnrichOptions, ENRICH_OPTIONS),
    "backfill_all": (AllOptions, ALL_OPTIONS),
    "backfill_masters": (MastersOptions, MASTERS_OPTIONS),
    "verify_backfill": (RangeOptions, VERIFY_OPTIONS),
    "backfill_report": (ReportOptions, (*REPORT_OPTIONS, "error_log")),
    "init_db": (InitOptions, (*INIT_OPTIONS, "check_rendered")),
}


def _fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def _read_by(cls) -> set[str]:
    """The option names a request of ``cls`` (with its nested parts) takes from a command line."""
    names = _fields(cls) | _fields(Target)
    if cls is AllOptions:
        names |= _fields(EventsOptions) | _fields(EnrichOptions) | {"enrich_horses"}
    return names


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_declared_option_is_read_by_the_request(command):
    cls, options = COMMANDS[command]
    unread = set(options) - LOGGING - _read_by(cls)
    assert not unread, f"{command}: options no request field takes: {sorted(unread)}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_field_of_the_request_is_an_option_of_its_command(command):
    cls, options = COMMANDS[command]
    dead = _fields(cls) - NESTED - DERIVED - set(options)
    assert not dead, f"{command}: request fields no option fills (always the default): {sorted(dead)}"


def test_every_shared_option_name_is_a_field_somewhere():
    fields = set().union(*(_fields(cls) for cls, _ in COMMANDS.values()), _fields(Target))
    orphans = set(OPTIONS) - fields - LOGGING - {"enrich_horses"}
    assert not orphans, orphans


def _parse(prog: str, names: tuple[str, ...], argv: list[str]):
    return build_parser(prog, "test", names).parse_args(argv)


def test_events_request_from_a_real_command_line():
    options = EventsOptions.from_args(_parse("backfill_events.py", EVENTS_OPTIONS, [
        "--start-date", "2025-01-01", "--region-codes", "GB", "ire", "gb", "--no-racecards",
        "--days-in-flight", "2", "--checkpoint-file", "cp.json", "--database-url", "sqlite:///x.db"]))
    assert options.start_date == date(2025, 1, 1) and options.end_date is None
    assert options.region_codes == ("gb", "ire") and options.regions_given
    assert (options.racecards, options.results) == (False, True)
    assert options.days_in_flight == 2 and options.checkpoint_file == Path("cp.json")
    assert options.target == Target(database_url="sqlite:///x.db", demo=False)


def test_default_regions_are_not_given():
    options = EventsOptions.from_args(_parse("backfill_events.py", EVENTS_OPTIONS, ["--resume"]))
    assert options.region_codes == ("gb", "ire") and not options.regions_given and options.resume


def test_backfill_all_composes_the_events_and_enrichment_requests():
    argv = ["--start-date", "2025-01-01", "--end-date", "2025-01-31", "--demo", "--enrich-horses",
            "--skip-masters", "--quiet"]
    options = AllOptions.from_args(_parse("backfill_all.py", ALL_OPTIONS, argv))
    assert options.skip_masters and not options.verify and not options.dry_run
    assert options.events.end_date == date(2025, 1, 31) and options.events.results
    assert options.enrich == EnrichOptions(target=Target(demo=True), quiet=True)
    assert options.target is options.events.target
    without = AllOptions.from_args(_parse("backfill_all.py", ALL_OPTIONS, argv[:-3]))
    assert without.enrich is None


@pytest.mark.parametrize(("request_class", "names", "argv", "message"), [
    (EnrichOptions, ENRICH_OPTIONS, ["--max-horses", "0"], "--max-horses must be at least 1"),
    (RangeOptions, VERIFY_OPTIONS, ["--start-date", "2025-02-01", "--end-date", "2025-01-01"],
     "--end-date 2025-01-01 is before --start-date 2025-02-01"),
    (ReportOptions, REPORT_OPTIONS, ["--start-date", "2025-02-01", "--end-date", "2025-01-01"],
     "--end-date 2025-01-01 is before --start-date 2025-02-01"),
])
def test_bad_values_are_refused_when_the_request_is_built(request_class, names, argv, message):
    with pytest.raises(ConfigError, match=message):
        request_class.from_args(_parse("x.py", names, argv))
