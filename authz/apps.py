from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save


class AuthzConfig(AppConfig):
    name = "authz"
    verbose_name = "Authorization"

    def ready(self) -> None:
        from authz import models, receivers

        rule_models = (
            models.Role,
            models.RoleMembership,
            models.Constraint,
            models.Criterion,
            models.ConstraintPermission,
        )
        for model in rule_models:
            uid = f"authz.rules_changed.{model.__name__}"
            post_save.connect(
                receivers.rules_changed, sender=model, dispatch_uid=uid + ".save"
            )
            post_delete.connect(
                receivers.rules_changed, sender=model, dispatch_uid=uid + ".delete"
            )
        m2m_changed.connect(
            receivers.memberships_changed,
            sender=models.Role.members.through,
            dispatch_uid="authz.memberships_changed",
        )
