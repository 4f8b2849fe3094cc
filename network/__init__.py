"""hatang network."""
