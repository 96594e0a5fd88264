"""The operator's side: reports, metrics, catalogs and locks."""
