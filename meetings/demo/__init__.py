"""The demo Government loaded by ``python manage.py seed_demo``.

``cast`` holds the ministries and the accounts, ``plan`` the sessions and their documents,
``pdf`` renders the documents from ``templates/demo/``, and ``seed`` writes it all through the
services.
"""
