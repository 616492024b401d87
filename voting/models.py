"""Motions, votes and written ballots arrive with the voting issue."""
