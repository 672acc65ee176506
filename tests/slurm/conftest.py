"""A real single-node Slurm cluster for the tests in this folder, shared by the session.

``slurm_cluster`` starts munged, slurmctld and slurmd on 127.0.0.1 (see slurm_cluster.py) and
exports SLURM_CONF. When no cluster can start here (the packages are missing, or not root) its
tests are skipped with the command that gets one; with MLPLAN_REQUIRE_SERVICES=1 (as in CI)
they fail instead, so a cluster CI forgot to install is never a silent pass.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from helpers import REQUIRE_SERVICES
from slurm.slurm_cluster import (
    INSTALL,
    Cluster,
    ClusterUnavailableError,
    missing_programs,
    single_node_cluster,
    start_command,
)


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("slurm")
    try:
        with single_node_cluster(root) as cluster:
            yield cluster
            return
    except ClusterUnavailableError as error:
        message = f"no Slurm cluster could start here ({error}); get one with: {start_command()}"
    if os.environ.get(REQUIRE_SERVICES) == "1":
        pytest.fail(f"{message} ({REQUIRE_SERVICES}=1 makes this a failure)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def slurm_commands() -> None:
    """Slurm's client commands, without a cluster (for the tests of a cluster that is not
    there); skipped, or failed under MLPLAN_REQUIRE_SERVICES=1, when they are not installed."""
    missing = missing_programs()
    if not missing:
        return
    message = f"{', '.join(missing)} not found: {INSTALL}"
    if os.environ.get(REQUIRE_SERVICES) == "1":
        pytest.fail(f"{message} ({REQUIRE_SERVICES}=1 makes this a failure)", pytrace=False)
    pytest.skip(message)
