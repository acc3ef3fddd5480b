"""Gate Decorator pruning: scoring (score.py), grouping (groups.py), ranking (plan.py),
surgery (groups.GateGraph.remove_channels), and the Tick-Tock schedule (ticktock.py)."""
