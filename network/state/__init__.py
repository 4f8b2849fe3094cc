"""Operational state of routers through one getter layer per platform (see readers.py)."""

from hatang.network.state.readers import GETTERS, READERS, StateReader, Unsupported, read_only_command, state_reader

__all__ = ["GETTERS", "READERS", "StateReader", "Unsupported", "read_only_command", "state_reader"]
