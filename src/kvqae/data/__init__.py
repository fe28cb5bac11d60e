"""Data formats: knowledge bases, questions, runs, and the synthetic entity world."""
