"""Real CogVideoX modules, re-implemented from the published diffusers configs with the published
checkpoints' exact ``state_dict()`` keys and shapes, and their export to spool's stage graphs.

Configs (as published, and tiny architecture-exact ones) live in ``models/cogvideox/configs/``.
"""
