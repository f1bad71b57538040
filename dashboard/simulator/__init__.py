"""The bundled Khoros Care simulator: one seeded world (``world``) served as the Analytics, Care v2 and Bot v3
APIs (``app``) on a loopback port (``server``) or as ``python -m dashboard simulator`` (``cli``).

Submodules are imported by name (``from dashboard.simulator.world import generate_world``) so that importing
the package stays cheap. See ``README.md`` in this folder for routes, credentials and choices.
"""
