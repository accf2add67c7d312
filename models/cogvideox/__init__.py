"""Real CogVideoX modules, architecture-exact with the published checkpoints, and their published configs (configs/)."""
