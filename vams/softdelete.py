"""Soft delete for models that keep a ``deleted_at`` timestamp.

``objects`` hides deleted rows and is the default manager. ``all_objects``
returns every row. Related-object access uses Django's plain base manager, so an
execution still reaches its workflow after that workflow was deleted.
"""

from django.db import models
from django.utils import timezone


class SoftDeleteQuerySet(models.QuerySet):
    def alive(self) -> "SoftDeleteQuerySet":
        return self.filter(deleted_at__isnull=True)

    def deleted(self) -> "SoftDeleteQuerySet":
        return self.filter(deleted_at__isnull=False)

    def delete(self) -> tuple[int, dict[str, int]]:
        """Mark every row deleted with one UPDATE and return Django's usual pair.

        The UPDATE sends no model signals, so state machines are not touched.
        Delete workflows through ``workflows.services.workflow_soft_delete``.
        """
        count = self.update(deleted_at=timezone.now())
        return count, {self.model._meta.label: count}

    delete.alters_data = True

    def hard_delete(self) -> tuple[int, dict[str, int]]:
        """Remove the rows from the database for good."""
        return super().delete()

    hard_delete.alters_data = True


class AliveManager(models.Manager.from_queryset(SoftDeleteQuerySet)):
    def get_queryset(self) -> SoftDeleteQuerySet:
        return super().get_queryset().alive()


AllObjectsManager = models.Manager.from_queryset(SoftDeleteQuerySet)


class SoftDeleteModel(models.Model):
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    deleted_by = models.CharField(max_length=256, blank=True, default="")

    objects = AliveManager()
    all_objects = AllObjectsManager()

    class Meta:
        abstract = True

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None
