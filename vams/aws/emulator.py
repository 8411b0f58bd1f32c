"""The embedded AWS emulator: moto's server, started in this process on loopback.

State machines really run there (``execute_state_machine``), Lambda runs without
Docker, and moto's state machine interpreter reaches SQS, EventBridge and S3
through ``MOTO_PORT``. Used by ``manage.py run_embedded`` and by the test suite.
"""

import logging
import os
import socket
from dataclasses import dataclass

import requests
from django.conf import settings
from moto.server import ThreadedMotoServer

from vams.aws import s3, sqs
from vams.aws.clients import use_endpoint

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
# moto accepts any credentials, and these keep boto3 from searching for real ones.
EMULATOR_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "emulator",
    "AWS_SECRET_ACCESS_KEY": "emulator",
    "AWS_SESSION_TOKEN": "emulator",
}


@dataclass
class Emulator:
    server: ThreadedMotoServer
    endpoint_url: str
    port: int

    def stop(self) -> None:
        self.server.stop()
        logger.info("Stopped AWS emulator endpoint=%s", self.endpoint_url)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def start_emulator(port: int | None = None) -> Emulator:
    """Start moto's server on loopback, configure it and point every client at it."""
    port = port or free_port()
    # moto's state machine interpreter calls the other services on this port.
    os.environ["MOTO_PORT"] = str(port)
    for name, value in EMULATOR_CREDENTIALS.items():
        os.environ[name] = value
    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)
    server.start()
    endpoint_url = f"http://{HOST}:{port}"
    response = requests.post(
        f"{endpoint_url}/moto-api/config",
        json={
            "stepfunctions": {"execute_state_machine": True},
            "lambda": {"use_docker": False},
        },
        timeout=10,
    )
    response.raise_for_status()
    use_endpoint(endpoint_url)
    logger.info("Started AWS emulator endpoint=%s", endpoint_url)
    return Emulator(server=server, endpoint_url=endpoint_url, port=port)


def provision_core_resources() -> None:
    """Create the buckets and the output-processing queue the service needs.

    Safe to run again. Real deployments create these with their infrastructure code.
    """
    s3.ensure_bucket(settings.VAMS_ASSET_BUCKET)
    s3.ensure_bucket(settings.VAMS_AUXILIARY_BUCKET)
    sqs.ensure_queue(settings.VAMS_OUTPUT_QUEUE_NAME)
