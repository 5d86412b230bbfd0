"""Many stories at once: a batch folder of ordinary runs, drawn on this machine or on Ray.

Every engine shares one code path (`storyviz.batch.story.run_story`) for a story's work; engines
differ only in how stories are dispatched and where render calls go (docs/scale.md).
"""
