"""DiffSensei (Wu et al., 2024) without its MLLM as a storyviz generator: manga-tuned SDXL with masked character tokens and dialog regions."""
