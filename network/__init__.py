"""hatang's network room: intent → configuration → diff → push (canary, waves,
commit-confirm, post-checks, rollback) → backup and drift; commune onboarding.

Modules: ``intent`` (inventory → per-router dict), ``render`` + ``lint`` (templates),
``connect`` (napalm drivers with credentials and host keys), ``drivers`` (FRRouting),
``diff``, ``push``, ``checks``, ``backup``, ``sites`` (``hatang site add``), ``onboard``.
"""
