"""hatang cloud."""
