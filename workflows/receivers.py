"""Keep a workflow's state machine in step with every save of its row.

The receiver runs for saves from the API, the admin, commands and the shell
alike, because they all go through ``Model.save()``.
"""

from workflows.sync import state_machine_delete, state_machine_sync


def workflow_saved(sender, instance, raw: bool = False, **kwargs) -> None:
    """Delete the state machine of a deleted workflow, else create or update it.

    ``QuerySet.update()`` and ``bulk_create()`` do not fire this receiver, and
    raw fixture loads (``loaddata`` sends ``raw=True``) are skipped. Run
    ``reconcile_state_machines`` after writing rows that way. A Step Functions failure raises
    UpstreamFailure or Throttled, so a caller that saves inside
    ``transaction.atomic()`` rolls the row back. A bare ``save()`` in
    autocommit mode has already committed the row when this runs, so the row
    stays and ``reconcile_state_machines`` repairs its machine later. A machine
    created before a rollback is left without an owner, and
    ``reconcile_state_machines`` deletes it.
    """
    if raw:
        return
    if instance.deleted_at is not None:
        state_machine_delete(instance)
    else:
        state_machine_sync(instance)
