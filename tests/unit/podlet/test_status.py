import pytest

from fleet.local.podlet.errors import NetworkError
from fleet.local.podlet.ipam import Ipam
from fleet.local.podlet.status import (
    ContainerView,
    ProbeVerdict,
    Terminated,
    backoff_delay,
    phase,
    pod_status,
    should_restart,
)

T0 = "2026-01-01T00:00:00Z"
DONE = Terminated(0, "Completed", T0, T0)
FAILED = Terminated(1, "Error", T0, T0)


def _c(name: str, kind: str = "app", state: str = "running", **kw) -> ContainerView:  # type: ignore[no-untyped-def]
    return ContainerView(name, "meshfleet", kind, state, started_at=T0, **kw)


def test_phase_follows_init_containers_then_app_containers() -> None:
    waiting_init = [_c("init", "init", "waiting")]
    assert phase("Always", waiting_init, [_c("app", state="waiting")]) == "Pending"
    done = [ContainerView("init", "i", "init", "terminated", terminated=DONE)]
    assert phase("Always", done, [_c("app")]) == "Running"
    assert phase("Never", [ContainerView("init", "i", "init", "terminated", terminated=FAILED)], []) == "Failed"
    finished = [ContainerView("job", "i", "app", "terminated", terminated=DONE)]
    assert phase("Never", [], finished) == "Succeeded"
    assert phase("Never", [], [ContainerView("job", "i", "app", "terminated", terminated=FAILED)]) == "Failed"


def test_a_sidecar_must_run_for_the_pod_to_be_initialized() -> None:
    assert phase("Always", [_c("proxy", "sidecar", "waiting")], [_c("app", state="waiting")]) == "Pending"
    assert phase("Always", [_c("proxy", "sidecar")], [_c("app")]) == "Running"


def test_ready_needs_every_app_container_and_sidecar_ready_and_keeps_transition_times() -> None:
    pod = {"spec": {}, "status": {"conditions": [{"type": "Ready", "status": "False",
                                                  "lastTransitionTime": "2025-12-31T00:00:00Z"}]}}
    st = pod_status(pod, [_c("proxy", "sidecar", ready=False)], [_c("app", ready=True)], "10.105.0.7",
                    "10.105.0.1", T0, T0)
    cond = {c["type"]: c for c in st["conditions"]}
    assert cond["Ready"]["status"] == "False"
    assert cond["Ready"]["lastTransitionTime"] == "2025-12-31T00:00:00Z"  # unchanged status keeps its time
    assert cond["Initialized"]["status"] == "True"
    assert (st["podIP"], st["hostIP"], st["phase"]) == ("10.105.0.7", "10.105.0.1", "Running")
    st = pod_status(pod, [_c("proxy", "sidecar", ready=True)], [_c("app", ready=True)], "10.105.0.7",
                    "10.105.0.1", T0, T0)
    assert {c["type"]: c["status"] for c in st["conditions"]}["ContainersReady"] == "True"
    assert {c["type"]: c for c in st["conditions"]}["Ready"]["lastTransitionTime"] == T0


def test_container_status_documents() -> None:
    crash = ContainerView("app", "img", "app", "waiting", reason="CrashLoopBackOff", message="back-off 4s",
                          last_terminated=FAILED, restart_count=3)
    doc = crash.to_api()
    assert doc["state"] == {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 4s"}}
    assert doc["lastState"]["terminated"]["exitCode"] == 1
    assert (doc["restartCount"], doc["started"], doc["ready"]) == (3, False, False)


def test_restart_policy_and_back_off() -> None:
    assert should_restart("Always", "app", 0)
    assert not should_restart("OnFailure", "app", 0)
    assert should_restart("OnFailure", "app", 2)
    assert not should_restart("Never", "app", 2)
    assert should_restart("Never", "sidecar", 0)
    assert should_restart("Always", "init", 1)
    assert not should_restart("Always", "init", 0)
    assert [backoff_delay(n) for n in range(0, 9)] == [0, 1, 2, 4, 8, 16, 32, 60, 60]


def test_probe_thresholds() -> None:
    v = ProbeVerdict()
    v = v.record(True, 2, 3)
    assert not v.ok
    v = v.record(True, 2, 3)
    assert v.ok
    v = v.record(False, 2, 3).record(False, 2, 3)
    assert v.ok  # two failures are below a threshold of three
    v = v.record(False, 2, 3)
    assert not v.ok
    assert v.failures == 3


def test_ipam_hands_out_unique_addresses_and_reuses_freed_ones_last() -> None:
    ipam = Ipam("10.105.0.0/29")
    assert ipam.gateway == "10.105.0.1"
    got = [ipam.allocate() for _ in range(5)]
    assert got == ["10.105.0.2", "10.105.0.3", "10.105.0.4", "10.105.0.5", "10.105.0.6"]
    with pytest.raises(NetworkError, match="no free pod IP"):
        ipam.allocate()
    ipam.release("10.105.0.3")
    assert ipam.allocate() == "10.105.0.3"
    again = Ipam("10.105.0.0/29", in_use={"10.105.0.2"})
    assert again.allocate() == "10.105.0.3"
