"""Stages build_student and train (placeholder until mathdistill.students lands)."""
