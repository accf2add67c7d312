"""Training entry points (``/usr/bin/python3 -m models.train.<module>``); ``all.sh`` chains them.

* ``vae``            VAE training and decoder fine-tune (``--decoder-only``)
* ``bank``           latent bank: clips encoded once by the frozen VAE encoder
* ``dit``            text encoder + DiT training, periodic evaluation by the judge
* ``decoder_tune``   decoder fine-tune on the latents the denoiser makes
* ``caption_probe``  which caption words a trained denoiser reads
"""
