from django.apps import AppConfig


class IntegrationAppConfig(AppConfig):
    name = "tests.integration_app"
    label = "durableflows_integration_tests"
    verbose_name = "durableflows integration tests"
