"""The VLM auditor: a vision-language model reads each panel against the character sheets
(batches, prompts, answer schema, reading, findings, scoring), behind ``vlm:SERVICE:MODEL``.
"""
