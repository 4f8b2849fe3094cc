"""hatang deploy."""
