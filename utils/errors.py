"""Typed errors and the documented exit codes.

Why one module: every script maps the same exception classes to the same exit codes, and every
layer (API client, stores, backfill) raises these instead of returning ``None`` or swallowing.
``critical`` errors stop a run with the checkpoint intact; the others are recorded per day and the
run goes on.
"""
from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Process exit codes, as documented in README.md."""

    OK = 0                 # done
    PARTIAL = 1            # done, with non-critical errors (days in the error log) or failed checks
    USAGE = 2              # bad command line / configuration
    CRITICAL = 3           # critical stop: auth, plan window, database loss, invalid range
    INTERRUPTED = 130      # Ctrl+C / SIGTERM


class DarkHorsesError(Exception):
    """Base class. ``critical`` errors stop the whole run."""

    critical = False


class ConfigError(DarkHorsesError):
    """Bad or missing configuration (missing credentials, bad URL, bad dates)."""

    critical = True


# --- Racing API -------------------------------------------------------------------------------
class RacingAPIError(DarkHorsesError):
    """A Racing API call failed after all retries (non-critical: the day is logged and skipped)."""

    def __init__(self, message: str, *, endpoint: str = "", status: int | None = None):
        super().__init__(message)
        self.endpoint = endpoint
        self.status = status


class AuthenticationError(RacingAPIError):
    """401/403: wrong credentials or plan. Critical: every further call would fail the same way."""

    critical = True


class PlanWindowError(RacingAPIError):
    """The API refused a date outside the account's plan window (e.g. results > 365 days old
    without the historical add-on). Critical: the rest of the range would be refused too."""

    critical = True


class ValidationFailed(RacingAPIError):
    """422 from the API, carrying its ``detail``."""


class NotFoundError(RacingAPIError):
    """404 for a single resource (a horse with no Pro profile): remembered, never asked again."""


class IncompleteDataError(RacingAPIError):
    """Fewer rows fetched than the API's ``total``: never stored as a complete day."""


class BadResponseError(RacingAPIError):
    """A body that is not the JSON the spec promises (truncated, HTML, wrong shape)."""


# --- Storage ----------------------------------------------------------------------------------
class StoreError(DarkHorsesError):
    """A write unit failed; it was rolled back."""


class StoreConnectionError(StoreError):
    """Connection to the database lost or refused. Critical."""

    critical = True


class StoreAuthError(StoreError):
    """The database or REST endpoint refused our credentials. Critical."""

    critical = True


class SchemaOutOfDateError(StoreError):
    """The database lacks migrations this code needs; the message says what to run. Critical."""

    critical = True


# --- Run control ------------------------------------------------------------------------------
class CheckpointError(DarkHorsesError):
    """Checkpoint unreadable, mismatched, or unwritable. Critical."""

    critical = True


class LockHeldError(DarkHorsesError):
    """Another run holds the lock for this checkpoint. Critical."""

    critical = True
