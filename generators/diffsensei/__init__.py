"""DiffSensei (Wu et al., 2024) without its MLLM as a storyviz generator.

Manga-tuned SDXL with box-masked character tokens and dialog regions left for lettering.
"""
