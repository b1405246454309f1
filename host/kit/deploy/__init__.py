"""Linux boards (Raspberry Pi 4/5): deploy a lab's int8 model over SSH and bench it with LiteRT.

`deploy_lab` copies model, labels and the self-contained runner (`pi_runner.py`) and gets
LiteRT onto the board; `bench_pi` streams one JSON line per inference back over SSH into a
results file. Both talk to the board through the system OpenSSH client (`kit.deploy.ssh`).
"""

from kit.deploy.bench import PiBenchResult, bench_pi
from kit.deploy.deploy import DeployResult, RemotePython, deploy_lab
from kit.deploy.remote import RemoteLayout
from kit.deploy.ssh import SshTarget

__all__ = ["DeployResult", "PiBenchResult", "RemoteLayout", "RemotePython", "SshTarget", "bench_pi", "deploy_lab"]
