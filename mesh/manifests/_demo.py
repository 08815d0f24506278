"""The demo application: a meshed namespace with web -> api -> backend and a steady trickle of load.

Every tier is ``meshfleet demo-app`` with its own ServiceAccount, so each
hop has a distinct mesh identity to check and authorize. ``api`` is two
Deployments, ``api-v1`` and ``api-v2``, behind three Services: ``api``
(both versions), ``api-v1`` and ``api-v2`` (one each), so an HTTPRoute on
``api`` can split traffic between the versions. The namespace carries
``meshfleet.io/inject: enabled``: the injector meshes every pod in it, and
a copy of the trust bundle ConfigMap, which injected proxies mount from
their own namespace.

The app containers have a startup probe only: it keeps a new pod out of
its Service until the app listens, and stops once it passed. A readiness
probe would keep coming from the node as plaintext, which a policy that
admits only mesh identities (the kind the demo exists to show) refuses.
"""

from __future__ import annotations

from dataclasses import dataclass

from mesh.manifests._links import EXPORT_LABEL
from mesh.manifests._meta import TRUST_BUNDLE_CONFIGMAP, TRUST_BUNDLE_KEY, Obj
from mesh.manifests._params import IMAGE_REPOSITORY

DEMO_NAMESPACE = "demo"
DEMO_PORT = 8080
INJECT_LABEL = "meshfleet.io/inject"


@dataclass(frozen=True, slots=True)
class DemoParams:
    version: str  # of the image, the mesh's own
    trust_bundle_pem: bytes  # the injected proxies read it from a ConfigMap of their own namespace
    namespace: str = DEMO_NAMESPACE
    api_replicas: int = 1
    load_rps: float = 5.0  # the load generator's requests per second to web; 0 renders none
    # Clusters this one links to: the load generator also calls their exported backend, through their
    # gateway, so the dashboard shows traffic that crosses clusters.
    linked: tuple[str, ...] = ()

    @property
    def image(self) -> str:
        return f"{IMAGE_REPOSITORY}:{self.version}"

    def url(self, service: str) -> str:
        return f"http://{service}.{self.namespace}.svc.cluster.local:{DEMO_PORT}/"


def _labels(app: str, **more: str) -> dict[str, str]:
    return {"app": app, "app.kubernetes.io/part-of": "meshfleet-demo", **more}


def _meta(p: DemoParams, name: str, labels: dict[str, str]) -> Obj:
    return {"name": name, "namespace": p.namespace, "labels": labels}


def _service_account(p: DemoParams, name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": _meta(p, name, _labels(name))}


def _deployment(p: DemoParams, name: str, sa: str, pod_labels: dict[str, str], args: list[str],
                replicas: int = 1) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(p, name, pod_labels),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": pod_labels},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "serviceAccountName": sa,
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{
                        "name": "app",
                        "image": p.image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": ["demo-app", *args],
                        "ports": [{"name": "http", "containerPort": DEMO_PORT, "protocol": "TCP"}],
                        # Startup only: the pod is not Ready before the app listens, and no probe
                        # keeps coming once a policy may refuse plaintext from the node.
                        "startupProbe": {"httpGet": {"path": "/healthz", "port": DEMO_PORT},
                                         "periodSeconds": 1, "failureThreshold": 60},
                        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
                    }],
                },
            },
        },
    }


def _service(p: DemoParams, name: str, selector: dict[str, str], exported: bool = False) -> Obj:
    labels = {**_labels(name), EXPORT_LABEL: "true"} if exported else _labels(name)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _meta(p, name, labels),
        "spec": {"selector": selector,
                 "ports": [{"name": "http", "port": DEMO_PORT, "targetPort": DEMO_PORT, "protocol": "TCP"}]},
    }


def demo(p: DemoParams) -> list[Obj]:
    """Every object of the demo namespace, in no particular order."""
    ns = {"apiVersion": "v1", "kind": "Namespace",
          "metadata": {"name": p.namespace, "labels": {INJECT_LABEL: "enabled",
                                                        "app.kubernetes.io/part-of": "meshfleet-demo"}}}
    port = [f"--port={DEMO_PORT}", "--shutdown-delay=3"]
    # Rendered with the mesh from the same bundle, so a trust rotation updates this copy too.
    bundle = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _meta(p, TRUST_BUNDLE_CONFIGMAP, _labels("mesh")),
              "data": {TRUST_BUNDLE_KEY: p.trust_bundle_pem.decode("ascii")}}
    objects: list[Obj] = [ns, bundle]
    for sa in ("web", "api", "backend"):
        objects.append(_service_account(p, sa))
    objects += [
        _deployment(p, "web", "web", _labels("web"), ["--name=web", *port, f"--downstream={p.url('api')}"]),
        _deployment(p, "api-v1", "api", _labels("api", version="v1"),
                    ["--name=api-v1", *port, f"--downstream={p.url('backend')}"], p.api_replicas),
        _deployment(p, "api-v2", "api", _labels("api", version="v2"),
                    ["--name=api-v2", *port, f"--downstream={p.url('backend')}"]),
        _deployment(p, "backend", "backend", _labels("backend"), ["--name=backend", *port, "--latency=uniform:1-5"]),
        _service(p, "web", {"app": "web"}),
        _service(p, "api", {"app": "api"}),
        _service(p, "api-v1", {"app": "api", "version": "v1"}),
        _service(p, "api-v2", {"app": "api", "version": "v2"}),
        # Exported: a cluster that links to this one mirrors it as backend-<this cluster>.
        _service(p, "backend", {"app": "backend"}, exported=True),
    ]
    if p.load_rps > 0:
        objects.append(_service_account(p, "loadgen"))
        objects.append(_deployment(p, "loadgen", "loadgen", _labels("loadgen"),
                                   ["--name=loadgen", *port, f"--load={p.load_rps:g}", f"--downstream={p.url('web')}",
                                    *(f"--downstream={p.url(f'backend-{peer}')}" for peer in p.linked)]))
    return objects
