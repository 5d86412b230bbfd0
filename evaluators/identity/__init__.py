"""The measuring identity auditors: embeddings (open_clip, DINOv2, pixels), locating each
character's crop, and the auditor that compares crops with references, behind ``clip:`` and
``dino:``.
"""
