"""Typed requests: each command's parsed options as one frozen dataclass, built once.

Why: the command layer used to pass ``argparse.Namespace`` down and probe it with ``getattr``, and
``backfill_all`` built fake Namespaces to call the events and enrichment commands. A request holds
exactly what its command reads, with a type, and is built in one place from the parsed options
(``from_args``): a field takes the option of the same name when the command declares it (each
option is declared once, in ``utils/commands/cli.py``), else the field's default. ``backfill_all``
composes the events and enrichment requests; nothing else ever sees argparse.

The checks that several commands share are written once, in ``utils/commands/cli.py``:
``check_order`` (an end before a start) and ``validate_range`` (the range the API can serve).
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from utils import REPO_ROOT
from utils.commands.cli import DEFAULT_REGIONS, check_order
from utils.errors import ConfigError
from utils.pipeline.events import DEFAULT_DAYS_IN_FLIGHT
from utils.stores.target import mask_url

R = TypeVar("R")


def declared_options(cls: type[R], args: argparse.Namespace, **given: Any) -> R:
    """``cls`` from the parsed options: each field of ``cls`` that the command declared as an
    option takes its value, the others their defaults; ``given`` fills the nested parts."""
    parsed = vars(args)
    values = {f.name: parsed[f.name] for f in fields(cls)  # type: ignore[arg-type]
              if f.name in parsed and f.name not in given}
    return cls(**values, **given)


@dataclass(frozen=True)
class Target:
    """Which API and which database a run uses (``--demo``, ``--database-url``)."""

    database_url: str | None = None
    demo: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Target:
        return declared_options(cls, args)

    def options(self) -> list[str]:
        """These options as a command line repeats them in a hint (a password masked)."""
        parts = ["--demo"] if self.demo else []
        if self.database_url:
            parts.append(f"--database-url '{mask_url(self.database_url)}'")
        return parts


@dataclass(frozen=True)
class EventsOptions:
    """``backfill_events`` (and the events step of ``backfill_all``)."""

    target: Target = field(default_factory=Target)
    start_date: date | None = None
    end_date: date | None = None
    region_codes: tuple[str, ...] = DEFAULT_REGIONS
    regions_given: bool = False          # typed on the command line (not the default)
    no_racecards: bool = False
    no_results: bool = False
    days_in_flight: int = DEFAULT_DAYS_IN_FLIGHT
    resume: bool = False
    incremental: bool = False
    check_status: bool = False
    checkpoint_file: Path | None = None
    quiet: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "region_codes", tuple(dict.fromkeys(self.region_codes or DEFAULT_REGIONS)))

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> EventsOptions:
        return declared_options(cls, args, target=Target.from_args(args),
                                regions_given="region_codes" in args.given)

    @property
    def racecards(self) -> bool:
        return not self.no_racecards

    @property
    def results(self) -> bool:
        return not self.no_results


@dataclass(frozen=True)
class EnrichOptions:
    """``enrich_horses`` (and ``backfill_all --enrich-horses``)."""

    target: Target = field(default_factory=Target)
    since: date | None = None
    refresh: bool = False
    max_horses: int | None = None
    check_status: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        if self.max_horses is not None and self.max_horses < 1:
            raise ConfigError("--max-horses must be at least 1")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> EnrichOptions:
        return declared_options(cls, args, target=Target.from_args(args))


@dataclass(frozen=True)
class AllOptions:
    """``backfill_all``: the events and enrichment requests it composes, and its own steps."""

    events: EventsOptions
    enrich: EnrichOptions | None = None      # --enrich-horses
    skip_masters: bool = False
    dry_run: bool = False
    verify: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> AllOptions:
        return declared_options(cls, args, events=EventsOptions.from_args(args),
                                enrich=EnrichOptions.from_args(args) if args.enrich_horses else None)

    @property
    def target(self) -> Target:
        return self.events.target


@dataclass(frozen=True)
class MastersOptions:
    """``backfill_masters``."""

    target: Target = field(default_factory=Target)
    region_codes: tuple[str, ...] = DEFAULT_REGIONS

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> MastersOptions:
        return declared_options(cls, args, target=Target.from_args(args))


@dataclass(frozen=True)
class RangeOptions:
    """``verify_backfill``: an optional range over a database (the rest comes from the database)."""

    target: Target = field(default_factory=Target)
    start_date: date | None = None
    end_date: date | None = None

    def __post_init__(self) -> None:
        check_order(self.start_date, self.end_date)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RangeOptions:
        return declared_options(cls, args, target=Target.from_args(args))


@dataclass(frozen=True)
class ReportOptions(RangeOptions):
    """``backfill_report``: a range, where its files go, what stdout carries, which error log."""

    out: Path = REPO_ROOT / "reports"
    format: str = "text"
    error_log: Path | None = None


@dataclass(frozen=True)
class InitOptions:
    """``init_db``: the database to migrate, or only check the committed renderings."""

    target: Target = field(default_factory=Target)
    check_rendered: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> InitOptions:
        return declared_options(cls, args, target=Target.from_args(args))
