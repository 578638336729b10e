"""Stage predict (placeholder until mathdistill.students lands)."""
