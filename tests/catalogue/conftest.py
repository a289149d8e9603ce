"""Catalogue fixtures: the Promidata feed simulator, moto's S3 server on loopback, catalogue workers."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from simulators.promidata import FeedModel
from simulators.promidata.model import DEFAULT_SUPPLIERS
from simulators.promidata.testing import running_promidata

S3_BUCKET = "catalogue-test"
S3_KEYS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
CATALOGUE_POOLS = ("supplier-sync", "product-family", "image-upload")


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[str]:
    """An S3 endpoint (moto server, in-memory) on 127.0.0.1 with the test bucket created."""
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per S3 request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # us-east-1: moto refuses CreateBucket with R2's region "auto" (puts work with either).
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **S3_KEYS).create_bucket(Bucket=S3_BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def s3_store(moto_s3: str) -> Any:
    """The test bucket, emptied, as the app's S3Store."""
    from app.catalogue.storage import S3Store

    store = S3Store(S3_BUCKET, endpoint_url=moto_s3, region="us-east-1", access_key_id="test",
                    secret_access_key="test")
    keys = store.keys()
    for start in range(0, len(keys), 1000):
        store.client.delete_objects(Bucket=S3_BUCKET,
                                    Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]]})
    return store


@pytest.fixture
def feed() -> Iterator[Any]:
    """A simulated feed: 3 suppliers (A23, A36, A403), 8 families each."""
    with running_promidata(FeedModel(seed=7, suppliers=DEFAULT_SUPPLIERS[:3], families_per_supplier=8)) as server:
        yield server


@pytest.fixture
def catalogue_workers(worker_pools: Any, moto_s3: str, redis_client: Any) -> Any:
    """Real supplier-sync / product-family / image-upload workers storing into moto's S3.

    Small pools (2 cores), fast retries so a failing family reaches FAILURE within seconds."""
    env = {
        "CATALOGUE_S3_BUCKET": S3_BUCKET,
        "CATALOGUE_S3_ENDPOINT_URL": moto_s3,
        "CATALOGUE_S3_REGION": "us-east-1",
        "CATALOGUE_S3_ACCESS_KEY_ID": "test",
        "CATALOGUE_S3_SECRET_ACCESS_KEY": "test",
        "CATALOGUE_S3_PREFIX": "",
        "CATALOGUE_HTTP_ATTEMPTS": "2",
        "CATALOGUE_HTTP_BACKOFF_MAX_SECONDS": "0.1",
        "CATALOGUE_FAMILY_MAX_RETRIES": "2",
        "CATALOGUE_FAMILY_RETRY_DELAY_SECONDS": "0.2",
        "CATALOGUE_IMAGE_MAX_RETRIES": "2",
        "CATALOGUE_IMAGE_RETRY_DELAY_SECONDS": "0.2",
        "CATALOGUE_FAN_OUT_ABOVE": "3",  # families of 4+ new images go through catalogue.queue_uploads
        "SUPPLIER_SYNC_CONCURRENCY": "1",
        "PRODUCT_FAMILY_CONCURRENCY": "2",
        "IMAGE_UPLOAD_CONCURRENCY": "3",
    }
    # A worker left running with another endpoint (an earlier session's moto) would store elsewhere.
    for pool in CATALOGUE_POOLS:
        running = worker_pools.running.get(pool)
        if running is not None and getattr(running, "catalogue_endpoint", None) != moto_s3:
            worker_pools.stop(pool)
    started = worker_pools.start(*CATALOGUE_POOLS, env=env)
    for worker in started.values():
        worker.catalogue_endpoint = moto_s3
    return worker_pools
