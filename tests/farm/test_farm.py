"""A real labgrid farm on loopback: one coordinator, three `kit farm export` processes each
offering two QEMU twins (six different boards), a second labgrid client holding one place,
`kit farm bench kws --all` benching the rest from one command while one exporter is killed
mid-run, and `kit report` comparing what came back (its page checked in headless Chromium).
One exporter's twins boot another lab (motion): the bench flashes them to kws over SSH through
their exporter's host (the real sshd on loopback the Pi tests use, tests/deploy/sshd_server.py);
another exporter's host refuses SSH, so a flash there fails that board only.

Slow: six firmware builds and six QEMU twins."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kit.bench.results import read_records
from kit.upload import qemu

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy"))
from browser import check_page, chromium, screenshot  # noqa: E402
from sshd_server import free_port, start_sshd  # noqa: E402

from kit.procs import pid_alive  # noqa: E402

pytestmark = pytest.mark.slow

pytest.importorskip("labgrid", reason="labgrid (pinned in pyproject.toml) runs the farm")

KIT = [sys.executable, "-c", "from kit.cli import main; main()"]
HOSTILE = "it's, $(touch {marker}) & `touch {marker}` \"x\""  # the comma: --boards takes it whole
EXPORTERS = {
    "laptop-a": ["emu-cortex-m4", "nicla-vision=" + HOSTILE],
    "laptop-b": ["emu-cortex-m7", "nano33-ble-sense"],
    "laptop-c": ["emu-rv32", "xiao-esp32s3"],
}
OTHER_LAB = {"laptop-a": "motion"}  # its twins start on another lab: the bench reflashes them to kws
SSH_REFUSED = "laptop-b"            # its host name leads to a closed port
FOREIGN_HELD = "laptop-b-nano33-ble-sense-1"
KILLED = "laptop-c"


def ssh_config(folder: Path, sshd) -> Path:
    """Each exporter publishes `--hostname farm-<name>`; this ssh_config sends those names to
    the loopback sshd, except the refusing one (a port nobody listens on)."""
    lines = []
    for name in EXPORTERS:
        port = free_port() if name == SSH_REFUSED else sshd.port
        lines += [f"Host farm-{name}", "  HostName 127.0.0.1", f"  Port {port}", "  User root",
                  f"  IdentityFile {sshd.client_key}", "  IdentitiesOnly yes", f"  UserKnownHostsFile {sshd.known_hosts}"]
    path = folder / "ssh_config"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_kit(*args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KIT, *args], capture_output=True, text=True, timeout=timeout, env=env)


def labgrid_client(address: str, user: str, *args: str) -> subprocess.CompletedProcess[str]:
    """The stock labgrid client as another user (labgrid names holders host/user)."""
    env = {**os.environ, "LG_USERNAME": user}
    return subprocess.run([sys.executable, "-m", "labgrid.remote.client", "-x", address, *args],
                          capture_output=True, text=True, timeout=60, env=env)


def places(address: str, *extra: str) -> dict[str, dict]:
    result = run_kit("farm", "list", "--coordinator", address, "--json", *extra, timeout=60)
    assert result.returncode == 0, result.stderr
    return {place["place"]: place for place in json.loads(result.stdout)}


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def farm(tmp_path_factory):
    folder = tmp_path_factory.mktemp("farm")
    marker = folder / "pwned"
    address = f"127.0.0.1:{qemu.free_tcp_port()}"
    started: list[subprocess.Popen] = []
    logs = {}
    sshd = start_sshd(folder / "sshd")
    os.environ.pop("SSH_AUTH_SOCK", None)  # only the test key may be offered
    try:
        coordinator = subprocess.Popen([*KIT, "farm", "coordinator", "--listen", address, "--dir", str(folder)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        started.append(coordinator)
        exporters = {}
        for name, twins in EXPORTERS.items():
            logs[name] = folder / f"{name}.log"
            argv = [*KIT, "farm", "export", "--coordinator", address, "--name", name, "--no-usb",
                    "--lab", OTHER_LAB.get(name, "kws"), "--hostname", f"farm-{name}"]
            for twin in twins:
                argv += ["--emulate", twin.format(marker=marker)]
            with logs[name].open("w") as log:
                exporters[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
            started.append(exporters[name])
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if all("exporting" in logs[name].read_text() for name in EXPORTERS):
                break
            dead = [name for name, p in exporters.items() if p.poll() is not None]
            assert not dead, {name: logs[name].read_text()[-2000:] for name in dead}
            time.sleep(0.5)
        else:
            pytest.fail(f"exporters not ready: {[logs[n].read_text()[-500:] for n in EXPORTERS]}")
        yield {"address": address, "exporters": exporters, "folder": folder, "marker": marker,
               "hostile": HOSTILE.format(marker=marker), "ssh": ["--ssh-config", str(ssh_config(folder, sshd))]}
    finally:
        for process in reversed(started):
            stop(process)
        sshd.stop()


def farm_sessions(kit_home: Path, since: float) -> list[tuple[Path, dict]]:
    found = []
    for path in sorted((kit_home / "results").glob("*.jsonl")):
        if path.stat().st_mtime >= since:
            header = next(read_records(path), None)  # None: created, header not written yet
            if header and header.get("farm"):
                found.append((path, header))
    return found


def test_farm_bench_all_with_a_held_place_and_a_killed_exporter(farm, kit_home, tmp_path):
    address = farm["address"]
    listed = places(address)
    assert len(listed) == 6 and all(p["answers"] for p in listed.values())
    assert {p["board"] for p in listed.values()} == {"emu-cortex-m4", "nicla-vision", "emu-cortex-m7",
                                                      "nano33-ble-sense", "emu-rv32", "xiao-esp32s3"}
    assert farm["hostile"] in listed
    assert {p["tags"]["lab"] for p in listed.values() if p["host"] == "laptop-a"} == {"motion"}

    held = labgrid_client(address, "alice", "-p", FOREIGN_HELD, "acquire")
    assert held.returncode == 0, held.stderr
    try:
        since = time.time()
        bench = subprocess.Popen([*KIT, "farm", "bench", "kws", "--all", "--coordinator", address, "--runs", "60",
                                  "--validate", "3", "--jobs", "5", "--json", *farm["ssh"]],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # Kill one exporter (its twins go with it) once its first board is part-way through the bench.
        deadline = time.monotonic() + 180
        killed = False
        while time.monotonic() < deadline and bench.poll() is None and not killed:
            for path, header in farm_sessions(kit_home, since):
                runs = [r for r in read_records(path) if r.get("type") == "run"]
                if header["farm"]["host"] == KILLED and header["kind"] == "bench" and len(runs) >= 3:
                    farm["exporters"][KILLED].send_signal(signal.SIGTERM)
                    killed = True
                    break
            time.sleep(0.05)
        assert killed, "the killed exporter's boards never started benching"
        out, err = bench.communicate(timeout=240)
        assert bench.returncode == 1, err  # some boards failed: the command says so
        assert out.strip(), err[-3000:]
        outcomes = {o["place"]: o for o in json.loads(out)}

        assert outcomes[FOREIGN_HELD]["status"] == "skipped" and "alice" in outcomes[FOREIGN_HELD]["error"]
        for place, outcome in outcomes.items():
            host = listed[place]["host"]
            if host == KILLED:
                assert outcome["status"] == "failed", outcome
            elif place != FOREIGN_HELD:
                assert outcome["status"] == "complete", (outcome, err)
                assert outcome["p50_us"] > 0 and outcome["accuracy"] is not None
                # laptop-a's motion twins were reflashed to kws through SSH; the rest already ran it
                assert outcome["flashed"] == (host in OTHER_LAB), outcome
        assert not farm["marker"].exists()  # the hostile place name was data, never a shell command

        sessions = farm_sessions(kit_home, since)
        touched = {header["farm"]["place"] for _, header in sessions}
        assert FOREIGN_HELD not in touched  # never opened, never read
        assert farm["hostile"] in touched
        partial = [(path, header) for path, header in sessions
                   if header["farm"]["host"] == KILLED and header["kind"] == "bench"]
        kept = max(len([r for r in read_records(path) if r.get("type") == "run"]) for path, _ in partial)
        assert 3 <= kept < 60  # partial results kept
        ends = [r for path, _ in partial for r in read_records(path) if r.get("type") == "end"]
        assert any(end["status"] == "interrupted" for end in ends)

        after = places(address, "--probe")
        assert {name for name, p in after.items() if p["acquired"]} == {FOREIGN_HELD}  # all ours released
        assert after[FOREIGN_HELD]["acquired"].endswith("/alice")
        for name, place in after.items():  # the killed exporter's boards no longer answer
            if name == FOREIGN_HELD:
                assert place["probe"].startswith("held by") and place["probe"].endswith("/alice")
            elif place["host"] == KILLED or not place["host"]:
                assert not place["answers"] and place["probe"].startswith("no")
            else:
                assert place["probe"].startswith("yes (kws01 on "), place

        # A second client naming the held place is refused, and does not touch it.
        refused = run_kit("farm", "bench", "kws", "--boards", FOREIGN_HELD, "--coordinator", address,
                          "--runs", "3", "--validate", "0", "--json")
        assert refused.returncode == 1
        outcome = json.loads(refused.stdout)[0]
        assert outcome["status"] == "refused" and "alice" in outcome["error"] and outcome["results"] == []
        assert places(address)[FOREIGN_HELD]["acquired"].endswith("/alice")
    finally:
        labgrid_client(address, "alice", "-p", FOREIGN_HELD, "release")

    # kit report compares every board that came back (the partial one included).
    report_dir = tmp_path / "report"
    result = run_kit("report", *[str(path) for path, _ in sessions], "--out", str(report_dir), timeout=120)
    assert result.returncode == 0, result.stderr
    markdown = (report_dir / "report.md").read_text()
    for place in touched:
        assert place.replace("|", "\\|") in markdown
    if chromium() is None:  # a skip fails CI (KIT_FAIL_ON_SKIP): setup installs chromium
        pytest.skip("needs Debian's chromium (apt-get install chromium) for the page check")
    verdict = check_page(report_dir / "index.html")
    assert verdict["errors"] == [] and not [line for line in verdict["console"] if "ERROR" in line.upper()]
    assert {image["id"] for image in verdict["images"]} == {"plot-latency", "plot-layers", "plot-accuracy-latency"}
    for image in verdict["images"]:
        assert image["width"] > 100 and image["height"] > 100 and image["colours"] > 3, image
    (kit_home / "artifacts").mkdir(exist_ok=True)
    shot = screenshot(report_dir / "index.html", kit_home / "artifacts" / "farm-report.png")
    assert shot.stat().st_size > 10_000
    print(f"screenshot kept: {shot}")


def test_ctrl_c_releases_every_place_and_keeps_what_was_measured(farm, kit_home):
    address = farm["address"]
    chosen = ["laptop-a-emu-cortex-m4-1", "laptop-b-emu-cortex-m7-1"]
    since = time.time()
    bench = subprocess.Popen([*KIT, "farm", "bench", "kws", "--boards", ",".join(chosen), "--coordinator", address,
                              "--runs", "2000", "--validate", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and bench.poll() is None:
        running = [path for path, header in farm_sessions(kit_home, since)
                   if len([r for r in read_records(path) if r.get("type") == "run"]) >= 2]
        if len(running) == len(chosen):
            break
        time.sleep(0.05)
    assert bench.poll() is None, bench.communicate()
    during = places(address)
    assert all(during[name]["acquired"] for name in chosen)
    bench.send_signal(signal.SIGINT)
    bench.communicate(timeout=120)
    assert bench.returncode != 0
    after = places(address)
    assert not any(after[name]["acquired"] for name in chosen)
    for path, _ in farm_sessions(kit_home, since):
        records = list(read_records(path))
        runs = [r for r in records if r.get("type") == "run"]
        assert 2 <= len(runs) < 2000 and records[-1]["type"] == "end" and records[-1]["status"] == "interrupted"


def test_wait_takes_a_held_place_once_its_holder_releases_it(farm, kit_home):
    address = farm["address"]
    assert labgrid_client(address, "bob", "-p", FOREIGN_HELD, "acquire").returncode == 0
    bench = subprocess.Popen([*KIT, "farm", "bench", "kws", "--boards", FOREIGN_HELD, "--coordinator", address,
                              "--runs", "3", "--validate", "0", "--wait", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "waiting" not in (err := bench.stderr.readline()):
            assert err or bench.poll() is None, "the bench ended without waiting"
        assert places(address)[FOREIGN_HELD]["acquired"].endswith("/bob")  # not touched while bob holds it
    finally:
        labgrid_client(address, "bob", "-p", FOREIGN_HELD, "release")
    out, err = bench.communicate(timeout=120)
    assert bench.returncode == 0, err
    assert json.loads(out)[0]["status"] == "complete"
    assert not places(address)[FOREIGN_HELD]["acquired"]


def test_a_flash_refused_by_its_host_fails_that_board_only(farm, kit_home):
    """--flash always: the hostile (comma) place is reflashed through its host's sshd and benched;
    laptop-b's host refuses SSH, so its board fails with a message naming that, and is released."""
    address = farm["address"]
    hostile, refused = farm["hostile"], "laptop-b-emu-cortex-m7-1"
    result = run_kit("farm", "bench", "kws", "--boards", hostile, "--boards", refused, "--coordinator", address,
                     "--runs", "3", "--validate", "0", "--flash", "always", "--json", *farm["ssh"])
    assert result.returncode == 1, result.stderr
    outcomes = {o["place"]: o for o in json.loads(result.stdout)}
    assert set(outcomes) == {hostile, refused}
    assert outcomes[hostile]["status"] == "complete" and outcomes[hostile]["flashed"], outcomes[hostile]
    print(f"reflash through ssh: {outcomes[hostile]['flash_s']:.2f} s")
    failed = outcomes[refused]
    assert failed["status"] == "failed" and not failed["flashed"] and failed["results"] == []
    assert "flashing place" in failed["error"] and "farm-laptop-b" in failed["error"], failed
    assert "connection refused" in failed["error"], failed
    assert not farm["marker"].exists()
    after = places(address)
    assert not after[hostile]["acquired"] and not after[refused]["acquired"]


def test_sigkill_of_kit_farm_export_leaves_no_process_behind(farm, kit_home):
    """Two twins of one board on one exporter (each its own QEMU log); SIGKILL the exporter
    command: labgrid-exporter and both QEMUs end within the deadline (PR_SET_PDEATHSIG). Last in
    this module: its place stays on the coordinator without resources."""
    from kit.farm.export import pid_file, twin_log_path

    log = farm["folder"] / "orphan.log"
    with log.open("w") as out:
        process = subprocess.Popen([*KIT, "farm", "export", "--coordinator", farm["address"], "--name", "orphan",
                                    "--no-usb", "--lab", "kws", "--emulate", "emu-rv32,emu-rv32"],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while "exporting" not in log.read_text() and time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()[-2000:]
            time.sleep(0.2)
        children = [entry["pid"] for entry in json.loads(pid_file("orphan").read_text())["children"]]
        assert len(children) == 3 and all(pid_alive(pid) for pid in children), children  # exporter + 2 QEMUs
        logs = {os.readlink(f"/proc/{pid}/fd/1") for pid in children[1:]}
        assert logs == {str(twin_log_path("orphan", "twin1-emu-rv32")), str(twin_log_path("orphan", "twin2-emu-rv32"))}
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(pid_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if pid_alive(pid)], "left running after SIGKILL"
    finally:
        stop(process)
