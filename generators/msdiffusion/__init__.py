"""MS-Diffusion (Wang et al., 2024) as a storyviz generator: SDXL with grounded, box-masked image tokens per subject."""
