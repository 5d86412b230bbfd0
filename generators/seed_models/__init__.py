"""What the seed systems' SDXL models share (MS-Diffusion, DiffSensei): reading their released
checkpoints strictly, the perceiver resampler both use to turn CLIP features into image tokens,
box-masked image cross-attention in the UNet, and background-free reference figures. Each
model's own package (``generators/msdiffusion``, ``generators/diffsensei``) builds on these."""
