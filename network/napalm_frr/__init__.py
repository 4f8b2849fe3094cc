"""napalm's entry point for FRRouting: ``napalm.get_network_driver("frr")`` imports this
module (napalm looks for ``napalm_<name>``) and takes its NetworkDriver subclass."""

from hatang.network.drivers.frr import FRRDriver

__all__ = ["FRRDriver"]
