"""napalm drivers hatang needs: FRRouting (``napalm.get_network_driver("frr")``)."""
