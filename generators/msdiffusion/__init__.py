"""MS-Diffusion (Wang et al., 2024) as a storyviz generator.

SDXL with grounded image tokens per subject, each visible only inside its box.
"""
