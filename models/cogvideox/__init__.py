"""Re-implementations of the published CogVideoX modules (torch), built from their published configs.

Configs live in ``models/cogvideox/configs/``: the published full-size ones and tiny
architecture-exact ones with the same options (what the tests export and serve).
"""
