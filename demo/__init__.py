"""The demo Government loaded by ``python manage.py seed_demo``.

``cast`` holds the ministries and the accounts, ``plan`` the sessions and their documents,
``seed`` renders the documents from ``templates/demo/`` (``ecabinet.pdf``) and writes it all through
the services; ``ballots`` and ``minutes`` add the written ballots and the closed session's sealed minutes.
"""
