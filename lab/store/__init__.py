"""A campaign's record: the document log and its directory, experiments read from it, and Tiled."""
