"""What partners take and bring: exports with their description, differences between versions, imports."""
