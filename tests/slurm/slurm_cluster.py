"""A real single-node Slurm cluster on 127.0.0.1, for the tests and the Slurm benchmark.

``single_node_cluster(root)`` starts ``munged`` (as the munge user, on the standard socket,
unless one already answers there), then ``slurmctld`` and ``slurmd`` as root in the foreground
from a generated ``slurm.conf`` whose state, spool and logs all live under ``root``, on two
free ports; it exports ``SLURM_CONF`` (so sbatch, squeue, scancel and submitit all find it),
waits until the node is idle, and stops what it started afterwards.

Needs root and Debian's packages: ``apt-get install -y slurm-wlm munge``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

INSTALL = "apt-get install -y slurm-wlm munge"
PROGRAMS = ("munged", "munge", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol")
MUNGE_DIRS = (Path("/run/munge"), Path("/var/log/munge"), Path("/var/lib/munge"))
MUNGE_KEY = Path("/etc/munge/munge.key")
START_TIMEOUT_S = 120  # a busy 2-core machine
NODE = "mlplan-node"
CPUS = 2


class ClusterUnavailableError(RuntimeError):
    """No cluster can start here; the message says why and how to get one."""


@dataclass(frozen=True)
class Cluster:
    conf: Path
    root: Path
    node: str = NODE


def missing_programs() -> list[str]:
    return [name for name in PROGRAMS if shutil.which(name) is None]


def start_command(root: str = "<folder>") -> str:
    """What a person runs to get what the fixture needs (shown when it cannot start)."""
    return (
        f"{INSTALL}; then, as root, python -c \"import sys; sys.path.insert(0, 'tests'); "
        f"from slurm.slurm_cluster import main; main('{root}')\""
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_conf(root: Path) -> Path:
    """A minimal slurm.conf: no cgroups (linuxproc, task/none), no accounting, one node."""
    host = socket.gethostname().split(".")[0]
    for name in ("state", "spool", "log"):
        (root / name).mkdir(parents=True, exist_ok=True)
    lines = [
        "ClusterName=mlplan-test",
        f"SlurmctldHost={host}(127.0.0.1)",
        f"SlurmctldPort={free_port()}",
        f"SlurmdPort={free_port()}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_Core",
        "SchedulerType=sched/backfill",
        "JobAcctGatherType=jobacct_gather/none",
        "AccountingStorageType=accounting_storage/none",
        "ReturnToService=2",
        # Quick to notice dead jobs and to kill ones past their limit; the test of a time
        # limit waits for the limit itself (a minute: Slurm counts limits in minutes).
        "KillWait=2",
        "MessageTimeout=10",
        "SchedulerParameters=sched_interval=1",
        "MaxArraySize=10001",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'log' / 'slurmctld.log'}",
        f"SlurmdLogFile={root / 'log' / 'slurmd.log'}",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        f"NodeName={NODE} NodeAddr=127.0.0.1 NodeHostname={host} CPUs={CPUS} "
        "RealMemory=1000 State=UNKNOWN",
        f"PartitionName=debug Nodes={NODE} Default=YES MaxTime=INFINITE State=UP",
    ]
    conf = root / "slurm.conf"
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return conf


def munge_answers() -> bool:
    try:
        encoded = subprocess.run(["munge", "-n"], capture_output=True, timeout=10, check=True)
        subprocess.run(
            ["unmunge"], input=encoded.stdout, capture_output=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def start_munge() -> subprocess.Popen[bytes] | None:
    """munged as the munge user, on its standard socket; None when one already answers."""
    if munge_answers():
        return None
    if os.geteuid() != 0:
        raise ClusterUnavailableError("munged is not running and starting it needs root")
    if not MUNGE_KEY.exists():
        raise ClusterUnavailableError(f"{MUNGE_KEY} is missing: {INSTALL} creates it")
    for folder in (*MUNGE_DIRS, MUNGE_KEY.parent):
        folder.mkdir(parents=True, exist_ok=True)
        shutil.chown(folder, "munge", "munge")
    shutil.chown(MUNGE_KEY, "munge", "munge")
    process = subprocess.Popen(
        ["munged", "--foreground", "--force"],
        user="munge",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not munge_answers():
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise ClusterUnavailableError(f"munged did not start; see {MUNGE_DIRS[1]}/munged.log")
        time.sleep(0.2)
    return process


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def node_state(conf: Path) -> str:
    env = {**os.environ, "SLURM_CONF": str(conf)}
    with suppress(OSError, subprocess.SubprocessError):
        result = subprocess.run(
            ["sinfo", "--noheader", "--Node", "--format=%T"],
            check=False,
            capture_output=True,
            text=True,
            timeout=15,
            env=env,
        )
        return result.stdout.strip()
    return ""


def wait_until_idle(conf: Path, daemons: list[subprocess.Popen[bytes]], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    state = ""
    while time.monotonic() < deadline:
        for daemon in daemons:
            if daemon.poll() is not None:
                raise ClusterUnavailableError(f"{daemon.args!r} exited: see {log}")
        state = node_state(conf)
        if state == "idle":
            return
        time.sleep(0.5)
    raise ClusterUnavailableError(f"the node is {state or 'unknown'}, not idle: see {log}")


@contextmanager
def single_node_cluster(root: Path) -> Iterator[Cluster]:
    """Start the cluster under ``root`` and export SLURM_CONF; stop it and restore afterwards."""
    missing = missing_programs()
    if missing:
        raise ClusterUnavailableError(f"{', '.join(missing)} not found: {INSTALL}")
    if os.geteuid() != 0:
        raise ClusterUnavailableError(
            "starting slurmctld and slurmd with SlurmUser=root needs root"
        )
    conf = write_conf(root)
    munged = start_munge()
    daemons: list[subprocess.Popen[bytes]] = []
    before = os.environ.get("SLURM_CONF")
    try:
        env = {**os.environ, "SLURM_CONF": str(conf)}
        # -i: ignore state left by an earlier run; -D: foreground, so stopping it is ours.
        for command in (
            ["slurmctld", "-D", "-i", "-f", str(conf)],
            ["slurmd", "-D", "-N", NODE, "-f", str(conf)],
        ):
            daemons.append(
                subprocess.Popen(
                    command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
                )
            )
        wait_until_idle(conf, daemons, root / "log")
        os.environ["SLURM_CONF"] = str(conf)
        yield Cluster(conf=conf, root=root)
    finally:
        for daemon in reversed(daemons):
            stop(daemon)
        stop(munged)
        if before is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = before


def main(root: str) -> None:
    """Start a cluster under ``root`` and keep it up until interrupted (for trying it by hand)."""
    folder = Path(root).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    with single_node_cluster(folder) as cluster:
        print(f"export SLURM_CONF={cluster.conf}", flush=True)
        with suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
