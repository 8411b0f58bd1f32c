from django.apps import AppConfig
from django.db.models.signals import post_save


class WorkflowsConfig(AppConfig):
    name = "workflows"

    def ready(self) -> None:
        from workflows import receivers
        from workflows.models import Workflow

        post_save.connect(
            receivers.workflow_saved,
            sender=Workflow,
            dispatch_uid="workflows.workflow_saved",
        )
