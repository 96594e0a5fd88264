"""The upstream side: HTTP to sites and mirrors, listings, checksum files, OpenPGP
signatures, what they prove about a release, and the distribution drivers."""
