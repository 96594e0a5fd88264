"""The Glance side: the client, its permission probe, the properties operators may
not set, one target's upload, and Nova's in-use check."""
