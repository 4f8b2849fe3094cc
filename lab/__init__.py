"""hatang lab."""
