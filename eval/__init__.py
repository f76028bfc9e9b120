"""Evaluation: gold question sets with known figures, scored against the service's answers."""
