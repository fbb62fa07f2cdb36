"""The Racing API: the rate-limited client, its limits and credentials."""
