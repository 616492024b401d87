"""Every change to motions, votes and written ballots happens here: ``motions`` and ``votes``
(in-session votes), ``ballots``, ``ballot_answers`` and ``ballot_closing`` (written opinions between
sessions). Same rules as ``meetings.services``."""
