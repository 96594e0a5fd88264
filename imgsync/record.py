"""The marks of imgsync's image record in Glance, shared by the client and the planner
(which must not import a client to read them)."""

SOURCE = "imgsync"
"""``source`` of every image imgsync made."""
PENDING = "pending"
"""``imgsync.state`` of an image not yet verified and published."""
RESERVED = "reserved"
"""``imgsync.state`` of an empty record kept for its id (``same_image_id``)."""
