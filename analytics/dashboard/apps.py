from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The browser pages: templates and plain-JavaScript modules that talk to the
    service only through its REST API and WebSockets."""

    name = "analytics.dashboard"
    label = "dashboard"
