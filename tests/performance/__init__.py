"""Statement-count pins."""
