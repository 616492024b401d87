"""Minutes, session resolution, corrections: drafting, rendering, signing and verifying (issue 5)."""
