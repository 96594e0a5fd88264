"""The byte pipeline: a chain of small wrappers that verify, decompress, inspect
and share one upstream stream, and the proof that Glance holds what passed."""
