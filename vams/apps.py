from django.apps import AppConfig


class VamsConfig(AppConfig):
    name = "vams"
    verbose_name = "Catalog"
