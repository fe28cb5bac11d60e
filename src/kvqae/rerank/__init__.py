"""Re-ranking a passage run after retrieval and fusion (term proximity)."""
