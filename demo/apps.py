from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo Government (``manage.py seed_demo``); no models."""

    name = "demo"
    label = "demo"
    verbose_name = "Demo"
