"""Capacity planning for the Proxmox VE clusters: headroom, growth, what to buy and when.

Data flows one way: the inventory (and, with ``--live``, the cluster itself) gives the
hardware and what is allocated; a history of monthly samples gives the trend; the
planner's demand drivers add what the history has not seen yet; the rules turn demand
and hardware into headroom and the month each resource runs out; the recommendation
adds or replaces nodes until the chosen rule holds over the horizon. The arithmetic
lives in small pure modules (:mod:`.model`, :mod:`.forecast`, :mod:`.rules`,
:mod:`.recommend`); :func:`.report.build_report` joins them and :mod:`.render` writes
the Markdown, HTML, CSV and charts.
"""
