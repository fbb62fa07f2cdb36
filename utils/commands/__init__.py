"""The command layer: options, run context, progress and each script's job."""
