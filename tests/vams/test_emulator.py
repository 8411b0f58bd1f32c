from vams.aws import s3, stepfunctions
from django.conf import settings


def test_emulator_serves_core_buckets(aws_emulator):
    s3.put_object(bucket=settings.VAMS_ASSET_BUCKET, key="probe/a.txt", body=b"x")

    info = s3.head_object(bucket=settings.VAMS_ASSET_BUCKET, key="probe/a.txt")

    assert info is not None
    assert info.size == 1


def test_emulator_runs_state_machines(aws_emulator):
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
    arn = stepfunctions.create_state_machine(name="vams-probe-pass", definition=definition)

    started = stepfunctions.start_execution(state_machine_arn=arn, name="probe-1", payload={})

    snapshot = stepfunctions.describe_execution(execution_arn=started.arn)
    for _ in range(50):
        if snapshot.status != "RUNNING":
            break
        snapshot = stepfunctions.describe_execution(execution_arn=started.arn)
    assert snapshot.status == "SUCCEEDED"
