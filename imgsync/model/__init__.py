"""What an image is, pure: imgsync's record of it in Glance and the SCS metadata."""
