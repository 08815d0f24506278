"""The fleet repository as typed configuration: ``fleet.yaml``, ``clusters/*.yaml``, ``trust-anchors/``.

``load_fleet(tree, now=...)`` reads a :class:`FileTree` (a directory or a Git
commit), validates every file against the shipped JSON Schemas and against
each other, and returns a frozen :class:`FleetConfig`, or raises
:class:`fleet.errors.InvalidConfig` carrying every :class:`Problem` found.
``check_fleet`` returns the problems instead of raising.  The schemas ship in
``fleet/config/schemas/``; ``docs/config.md`` documents every field.
"""

from fleet.config._anchors import ANCHOR_DIR, check_anchors
from fleet.config._load import CLUSTER_DIR, DEFAULT_WAVE_TIMEOUT, FLEET_FILE, check_fleet, load_fleet
from fleet.config._model import (
    BUILTIN_SETTINGS,
    DEFAULT_MESH_NAMESPACE,
    DEFAULT_TRUST_DOMAIN,
    ClusterConfig,
    DriftMode,
    FleetConfig,
    InboundPolicy,
    LogLevel,
    MeshSettings,
    Network,
    ResourceAmounts,
    Resources,
    Settings,
    TrustAnchor,
    Wave,
)
from fleet.config._problem import Problem
from fleet.config._schema import CLUSTER_SCHEMA, FLEET_SCHEMA, schema_text
from fleet.config._tree import DirectoryTree, FileTree, GitTree
from fleet.config._validate_cli import summary, validate_main
from fleet.config._versions import SUPPORTED_MESH_VERSIONS

__all__ = [
    "ANCHOR_DIR",
    "BUILTIN_SETTINGS",
    "CLUSTER_DIR",
    "CLUSTER_SCHEMA",
    "DEFAULT_MESH_NAMESPACE",
    "DEFAULT_TRUST_DOMAIN",
    "DEFAULT_WAVE_TIMEOUT",
    "FLEET_FILE",
    "FLEET_SCHEMA",
    "SUPPORTED_MESH_VERSIONS",
    "ClusterConfig",
    "DirectoryTree",
    "DriftMode",
    "FileTree",
    "FleetConfig",
    "GitTree",
    "InboundPolicy",
    "LogLevel",
    "MeshSettings",
    "Network",
    "Problem",
    "ResourceAmounts",
    "Resources",
    "Settings",
    "TrustAnchor",
    "Wave",
    "check_anchors",
    "check_fleet",
    "load_fleet",
    "schema_text",
    "summary",
    "validate_main",
]
