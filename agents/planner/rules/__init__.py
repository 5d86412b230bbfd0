"""Reading a story by rules: beats, characters and their looks, names, mentions, quotes,
dialogue, scenes, staging and sheets, for English, Russian, Chinese and Japanese; the
offline planner (offline.py) puts them together. No model, no network.
"""
