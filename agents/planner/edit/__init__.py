"""Plan edits: the diff between two plans (plans.py) that chat sessions redraw from, and the
offline planner's plain-language edit rules (rules.py with refs, ops and pages).
"""
