"""hatang monitoring."""
