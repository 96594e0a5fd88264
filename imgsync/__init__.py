"""imgsync: keep an OpenStack cloud's image catalogue in step with upstream."""
