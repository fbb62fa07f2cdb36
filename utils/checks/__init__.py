"""Read-only checks of a loaded database: verification and coverage."""
