"""Control flow: the graph, its state, the planner and the repairer. No torch, no provider SDK."""
