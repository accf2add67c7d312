"""The converter from the published CogVideoX checkpoints (diffusers directory layout) to spool model packages.

    /usr/bin/python3 -m models.convert --from DIR --out models/NAME [--components …] [--dtype …]
"""
