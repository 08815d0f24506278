"""AdmissionReview in and out (pure): read the request, build the answer.

Every answer allows the pod. A review we cannot read is answered allowed
and unchanged with a warning, so the injector can never be the reason a
pod is not created.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import MalformedReview

API_VERSION = "admission.k8s.io/v1"


@dataclass(frozen=True, slots=True)
class PodReview:
    uid: str
    namespace: str
    operation: str
    pod: Mapping[str, Any]


def parse_review(body: bytes) -> PodReview:
    try:
        doc = json.loads(body)
    except ValueError as e:
        raise MalformedReview("the body is not JSON") from e
    if not isinstance(doc, dict) or doc.get("kind") != "AdmissionReview":
        raise MalformedReview("the body is not an AdmissionReview")
    request = doc.get("request")
    if not isinstance(request, dict):
        raise MalformedReview("the AdmissionReview has no request")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise MalformedReview("the AdmissionReview request has no uid")
    kind = request.get("kind") or {}
    if not isinstance(kind, dict):
        raise MalformedReview("the review request's kind is not an object", uid)
    group, name = str(kind.get("group", "")), str(kind.get("kind", ""))
    if (group, name) != ("", "Pod"):
        raise MalformedReview(
            f"the review is for {group + '/' if group else ''}{name or 'an unnamed kind'}, not a Pod", uid
        )
    pod = request.get("object")
    if not isinstance(pod, dict):
        raise MalformedReview("the review carries no pod object", uid)
    return PodReview(uid, str(request.get("namespace") or ""), str(request.get("operation") or ""), pod)


def review_response(
    uid: str, patch: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (), warnings: tuple[str, ...] = ()
) -> dict[str, Any]:
    response: dict[str, Any] = {"uid": uid, "allowed": True}
    if patch:
        response["patchType"] = "JSONPatch"
        response["patch"] = base64.b64encode(json.dumps(list(patch), separators=(",", ":")).encode()).decode("ascii")
    if warnings:
        response["warnings"] = [w[:256] for w in warnings]  # the API server truncates long warnings anyway
    return {"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response}
