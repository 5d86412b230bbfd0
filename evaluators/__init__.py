"""Judgement: auditors and metrics. They return findings and scores and edit nothing."""
