from django.apps import AppConfig


class UiConfig(AppConfig):
    """Presentation shared by every app: layout, Jalali dates, Persian digits, pagination."""

    name = "amanat.ui"
    label = "ui"
