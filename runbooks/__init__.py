"""hatang runbooks."""
