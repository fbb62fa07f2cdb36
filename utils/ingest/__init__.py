"""Payloads to rows: value parsers, row builders and the entity extractor. No I/O."""
