"""Every change to motions, votes and written ballots happens here: ``motions`` (in-session votes)
and ``ballots`` (written opinions between sessions). Same rules as ``meetings.services``."""
