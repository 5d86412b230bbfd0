"""Planners: a story request in, a StoryPlan out."""
