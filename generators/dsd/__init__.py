"""Diffusion Self-Distillation (DSD) on FLUX.1-dev: a panel drawn from one reference image.

``options`` parses ``dsd:FLUX?transformer=&lora=...``, ``transformer`` adds the release's
``c_embedder`` to a stock FLUX transformer, ``condition`` lays the reference out as the release
does (reference | black, side by side), ``loading`` builds the pipeline and ``backend`` is the
generator. See ``docs/dsd.md``.
"""
