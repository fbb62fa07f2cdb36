"""The bundled Racing API simulator (demo and tests only)."""
