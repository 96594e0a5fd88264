"""The engine: the image record, the pure planner, the executor, the syncer and the
fan-out of one download to every target."""
