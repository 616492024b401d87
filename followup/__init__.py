"""Decision follow-up (issue 18): the tasks (nhiệm vụ) a session's decisions assign to ministries,
tracked from assignment to acceptance. Models (``models.py``), the one home of who sees and does
what (``permissions.py``), the writes (``services.py``) and the API (``api.py``)."""
