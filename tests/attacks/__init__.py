"""The attack corpus: hostile student code that the sandbox must contain (see corpus.py)."""
