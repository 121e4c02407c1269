"""The emulator's Cloud Monitoring, asked with Google's own client on a plain gRPC channel (not
through the app's source): the filter, the interval, the view, refusals, and a prompt stop."""

from __future__ import annotations

import os
import socket
import threading
import time

import grpc
import pytest
from google.api_core import exceptions
from google.cloud import monitoring_v3
from google.cloud.monitoring_v3.services.metric_service.transports import (
    MetricServiceGrpcTransport,
)
from userdirs import wait_until

from trayapp.emulator.data import FAULT_TARGETS
from trayapp.emulator.faults import parse_fault
from trayapp.emulator.monitoring import parse_filter
from trayapp.sources.usage import ALLOCATION_USAGE

os.environ["NO_GCE_CHECK"] = "true"
VERTEX = "aiplatform.googleapis.com"
ALLOCATION = (
    f'metric.type = "{ALLOCATION_USAGE}" AND resource.type = "consumer_quota" '
    f'AND resource.labels.service = "{VERTEX}"'
)


def client_for(emulator):
    channel = grpc.insecure_channel(emulator.monitoring_url.removeprefix("http://"))
    return monitoring_v3.MetricServiceClient(transport=MetricServiceGrpcTransport(channel=channel))


def ask(client, window_s=25 * 3600, view="FULL", filter_=ALLOCATION, metadata=(("x", "y"),)):
    now = time.time()
    request = {
        "name": "projects/p",
        "filter": filter_,
        "interval": {
            "start_time": {"seconds": int(now - window_s)},
            "end_time": {"seconds": int(now) + 1},
        },
        "view": view,
    }
    pages = client.list_time_series(request=request, timeout=5, retry=None, metadata=metadata)
    return list(pages)


def test_the_filter_and_the_interval_choose_series_and_points(make_emulator):
    client = client_for(make_emulator())
    day = ask(client)
    assert {s.resource.labels["location"] for s in day} == {"us-central1", "europe-west4"}
    assert all(s.resource.type == "consumer_quota" for s in day)
    t4 = next(s for s in day if s.metric.labels["quota_metric"].endswith("_t4_gpus"))
    assert [p.value.int64_value for p in t4.points] == [12, 4]  # newest first
    hour = ask(client, window_s=3600)  # the 2-hour-old points fall outside
    assert [p.value.int64_value for p in next(s for s in hour if s.metric == t4.metric).points] == [
        12
    ]
    assert all(s.resource.labels["location"] != "europe-west4" for s in hour)
    assert all(not s.points for s in ask(client, view="HEADERS"))
    other = ALLOCATION.replace(VERTEX, "compute.googleapis.com")
    assert ask(client, filter_=other) == []


def test_a_filter_it_cannot_read_is_refused(make_emulator):
    with pytest.raises(exceptions.InvalidArgument):
        ask(client_for(make_emulator()), filter_='metric.type = starts_with("x")')
    assert parse_filter('metric.type = "a" AND metric.labels.b = "c"') == {
        "metric.type": "a",
        "metric.labels.b": "c",
    }
    assert parse_filter('resource.type = "consumer_quota"') is None  # no metric type


def test_no_quota_project_is_refused_in_strict_mode(make_emulator):
    client = client_for(make_emulator(require_quota_project=True))
    with pytest.raises(exceptions.PermissionDenied) as caught:
        ask(client)
    assert caught.value.reason == "SERVICE_DISABLED"
    assert ask(client, metadata=(("x-goog-user-project", "q"),))


def test_monitoring_is_a_fault_target_of_its_own(make_emulator):
    assert parse_fault("403:SERVICE_DISABLED@monitoring", FAULT_TARGETS).region == "monitoring"
    emulator = make_emulator(faults=["503@compute"])
    assert ask(client_for(emulator))  # a regions.get fault never reaches Monitoring


def test_stop_is_prompt_with_a_hung_call(make_emulator):
    emulator = make_emulator(faults=["hang@monitoring"])
    client = client_for(emulator)
    failed = []
    thread = threading.Thread(target=lambda: failed.append(_fails(client)), daemon=True)
    thread.start()
    wait_until(lambda: emulator.monitoring.billed, "the hung call to reach the emulator", 5)
    started_stop = time.monotonic()
    emulator.stop()
    assert time.monotonic() - started_stop < 3
    thread.join(5)
    assert failed == [True]
    host, port = emulator.monitoring_url.removeprefix("http://").rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError):  # the port is closed, not merely refusing
        socket.create_connection((host, int(port)), timeout=2).close()


def _fails(client) -> bool:
    try:
        ask(client)
    except exceptions.GoogleAPICallError:
        return True
    return False


def test_without_monitoring_no_grpc_server_starts(make_emulator):
    emulator = make_emulator(monitoring=False)
    assert emulator.monitoring_url == ""
