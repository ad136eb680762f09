"""满意度调查: satisfaction surveys, their answers and analysis."""
