"""The model-backed planner: the schemas a language model fills, the checks its answers
must pass beyond them, the retry loop that sends problems back, the conversion to a StoryPlan,
and the registry's factory for ``openai:``, ``openai-compat:`` and ``gemini:`` planners.
"""
