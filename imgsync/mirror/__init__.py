"""The operator's object store as a mirror of verified images (Swift or S3), a target
beside the Glances: the same verified stream, its own layout, record and rotation."""
