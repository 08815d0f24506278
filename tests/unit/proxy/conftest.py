from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from .certs import Authority, IdentityFiles, make_ca, make_identity


@dataclass
class Pki:
    anchor: Authority
    issuer: Authority
    client: IdentityFiles
    server: IdentityFiles
    root: Path

    def identity(self, name: str, sa: str, ns: str = "shop", issuer: Authority | None = None) -> IdentityFiles:
        return make_identity(self.root / name, issuer or self.issuer, self.anchor, sa, ns)


@pytest.fixture(scope="session")
def authorities() -> tuple[Authority, Authority]:
    anchor = make_ca("meshfleet test anchor")
    return anchor, make_ca("meshfleet test issuer", anchor)


@pytest.fixture
def pki(tmp_path: Path, authorities: tuple[Authority, Authority]) -> Pki:
    anchor, issuer = authorities
    return Pki(
        anchor,
        issuer,
        make_identity(tmp_path / "client", issuer, anchor, "app", "shop"),
        make_identity(tmp_path / "server", issuer, anchor, "web", "shop"),
        tmp_path,
    )
