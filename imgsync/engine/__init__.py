"""The engine: the pure planners (Glance's and the mirror's), the executor, the syncer
and the fan-out of one download to every target."""
