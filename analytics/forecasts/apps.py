from django.apps import AppConfig


class ForecastsConfig(AppConfig):
    """The forecasts of `analytics`: an app of its own so its migrations stand apart."""

    name = "analytics.forecasts"
    label = "forecasts"
    verbose_name = "Forecasts"
