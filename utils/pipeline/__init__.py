"""The run: the events scheduler, the checkpoint, masters and enrichment."""
