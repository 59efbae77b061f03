"""Safety that tells the truth (issue 15, item 6): the stop line says what was read back (each pump stopped,
the heater's set point) and names any device that could not be made safe, exit 1; the pump watchdog is on
by default and holds while qdlab lives, stops the pump when it dies; a dead keep-alive stops the campaign;
a serial port another process holds is refused in one line, exit 2, before a byte is sent."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from devices import WallClock
from devices.drivers import NE1000Pump, SerialTransport, open_serial
from devices.drivers.ne1000 import WATCHDOG_DEFAULT_S, WATCHDOG_FLOOR_S, make_ne1000
from lab.cli import main
from lab.config.lab_toml import PumpConfig
from lab.config.files import EXAMPLES
from models.errors import DeviceError
from models.validation import validate_model
from simulators import SimHeater, SimPump, SimWorld
from simulators.emulators import ModbusTC, NE1000Bus, NE1000Model, PtyServer

ROOT = Path(__file__).resolve().parents[2]
PROBE = ROOT / "tests" / "faults" / "power_probe.py"
CAMPAIGN = ROOT / "campaigns" / "examples" / "cdse-green.toml"
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


@pytest.fixture(scope="module")
def sobol_campaign(tmp_path_factory):
    path = tmp_path_factory.mktemp("campaign") / "cdse-sobol.toml"
    path.write_text(CAMPAIGN.read_text().replace('strategy = "botorch"', 'strategy = "sobol"'))
    return path


def _lab_file(tmp_path: Path, *, emulated: bool = True) -> Path:
    text = (EXAMPLES["lab"] / "emulated.toml").read_text()
    text = text.replace("/tmp/qdlab-ne1000", str(tmp_path / "ne1000")).replace(
        "/tmp/qdlab-tc", str(tmp_path / "tc")
    )
    if not emulated:  # the same rig as real hardware: its ports are served by emulators the test runs
        text = re.sub(r"\[emulator\]\n(.*\n){2}", "", text).replace('type = "emulated"', 'type = "seabreeze"')
        assert "[emulator]" not in text
    path = tmp_path / ("lab.toml" if emulated else "hardware.toml")
    path.write_text(text)
    return path


# -- the stop line says what was verified -----------------------------------------------------------


def _stop_with_device_off(tmp_path, campaign, device):
    out, marker = tmp_path / "run", tmp_path / "powered-off"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(PROBE),
            device,
            str(marker),
            "run",
            str(campaign),
            "--lab",
            str(_lab_file(tmp_path)),
            "--out",
            str(out),
            "--budget",
            "12",
            "--seed",
            "3",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    deadline = time.monotonic() + 300
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.exists(), proc.stderr.read().decode()[-3000:]
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(timeout=300)
    err = proc.stderr.read().decode()
    lines = [line for line in err.splitlines() if line.startswith("qdlab:")]
    assert len(lines) == 1, err[-3000:]
    return rc, lines[0], err


def test_sigterm_with_the_temperature_controller_powered_off_names_the_heater_and_exits_1(
    tmp_path, sobol_campaign
):
    """It printed "pumps stopped, heater at its safe set point" and exited 143 while the coil stayed hot."""
    rc, line, err = _stop_with_device_off(tmp_path, sobol_campaign, "tc")
    assert rc == 1, err[-3000:]
    assert "NOT SAFE: heater could not be confirmed safe" in line and "no reply" in line, line
    assert "heater set point read back" not in line
    assert "pumps cd, se, solvent read back stopped" in line, line  # what was verified is still said


def test_sigterm_with_one_pump_powered_off_names_that_pump_and_exits_1(tmp_path, sobol_campaign):
    rc, line, err = _stop_with_device_off(tmp_path, sobol_campaign, "pump:1")  # address 1: pump se
    assert rc == 1, err[-3000:]
    assert "NOT SAFE: se could not be confirmed safe" in line, line
    assert "pumps cd, solvent read back stopped" in line, line
    assert "heater set point read back 25 degC (its safe set point)" in line, line


# -- the pump watchdog ------------------------------------------------------------------------------


def test_the_watchdog_is_on_by_default_and_refused_below_its_floor(tmp_path, capsys):
    pump = {
        "type": "ne1000",
        "reagent": "cd",
        "syringe_volume": "10 mL",
        "min_rate": "1 uL/min",
        "max_rate": "100 uL/min",
        "port": "/dev/ttyUSB0",
    }
    settings = validate_model(PumpConfig, pump, source="lab.toml")
    assert settings.watchdog == WATCHDOG_DEFAULT_S == 10.0 and WATCHDOG_FLOOR_S == 2.0
    assert make_ne1000(settings=settings, name="cd").watchdog_s == 10  # the driver gets it: safe mode on
    text = (EXAMPLES["lab"] / "emulated.toml").read_text()
    for bad in ("1 s", "0 s", "300 s"):
        lab = tmp_path / "lab.toml"
        lab.write_text(text.replace('watchdog = "10 s"             #', f'watchdog = "{bad}"  #', 1))
        code = main(["run", str(CAMPAIGN), "--lab", str(lab), "--out", str(tmp_path / "out")])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1, err
        assert "pumps.cd.watchdog" in err and "must be 2 to 255 s (default 10 s)" in err, err
        assert not (tmp_path / "out").exists()


_CONTROLLER = textwrap.dedent("""
    import sys, time
    from lab.config.lab_toml import PumpConfig
    from devices.drivers.ne1000 import make_ne1000
    settings = PumpConfig(type="ne1000", reagent="cd", syringe_volume="10 mL", min_rate="1 uL/min",
                          max_rate="100 uL/min", port=sys.argv[1])  # the watchdog left at its default
    pump = make_ne1000(settings=settings, name="cd")
    pump.connect()
    pump.set_flow_ul_min(50.0)
    print("infusing", flush=True)
    time.sleep(3600)
""")


def test_killing_the_controller_stops_the_emulated_pump_by_its_watchdog(tmp_path):
    world = SimWorld("CdSe", clock=WallClock(speed=1.0), seed=0)
    model = NE1000Model(0, SimPump(world, "cd"), clock=world.clock)
    with PtyServer(NE1000Bus([model]), link=tmp_path / "ne1000") as server:
        proc = subprocess.Popen(
            [sys.executable, "-c", _CONTROLLER, server.port],
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout.readline().strip() == "infusing", proc.stderr.read()[-2000:]
            assert model.safe and model.safe_timeout_s == 10
            time.sleep(1.5 * WATCHDOG_DEFAULT_S)  # longer than the watchdog: the keep-alive holds it
            assert model.status == "I" and model.pending_alarm is None
            proc.kill()  # kill -9: nothing in qdlab runs again
            proc.wait(timeout=30)
            deadline = time.monotonic() + 5 * WATCHDOG_DEFAULT_S  # a bound on a hang, not a speed
            while model.status == "I" and time.monotonic() < deadline:
                time.sleep(0.1)
            assert model.status == "S" and model.pending_alarm == "T"  # stopped by its own watchdog
            assert model.backend.flow_ul_min() == 0.0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_a_dead_keep_alive_stops_the_campaign_at_the_next_call(tmp_path):
    """keepalive_error was written and never read: the pump ran on, unwatched, until its watchdog tripped."""
    world = SimWorld("CdSe", clock=WallClock(speed=1.0), seed=0)
    model = NE1000Model(0, SimPump(world, "cd"), clock=world.clock)
    with PtyServer(NE1000Bus([model]), link=tmp_path / "ne1000") as server:
        pump = NE1000Pump(
            SerialTransport(lambda: open_serial(server.port, baudrate=19200), name=server.port),
            syringe_volume_ul=10_000.0,
            watchdog_s=3,
            name="cd",
        )
        pump.connect()
        pump.set_flow_ul_min(50.0)
        command = pump._command

        def broken_in_the_keep_alive(*args, **kwargs):
            if threading.current_thread().name.endswith("-keepalive"):
                raise RuntimeError("an unexpected error in the keep-alive")
            return command(*args, **kwargs)

        pump._command = broken_in_the_keep_alive
        pump._keepalive.join(timeout=30)
        assert not pump._keepalive.is_alive()
        with pytest.raises(DeviceError, match="cd .*the watchdog keep-alive is dead.*unexpected error"):
            pump.alarm()  # what the plan reads with every measurement
        pump._command = command
        pump.stop()  # making the rig safe still works
        assert model.status in ("S", "P")
        pump.close()


# -- exclusive serial ports -------------------------------------------------------------------------


def test_a_second_qdlab_on_a_held_port_is_refused_in_one_line_before_a_byte_is_sent(tmp_path, sobol_campaign):
    world = SimWorld("CdSe", clock=WallClock(speed=1.0), seed=0)
    bus = NE1000Bus(
        [NE1000Model(a, SimPump(world, s), clock=world.clock) for a, s in enumerate(("cd", "se", "solvent"))]
    )
    tc = ModbusTC(SimHeater(world, reading_noise=False), clock=world.clock)
    lab = _lab_file(tmp_path, emulated=False)
    with PtyServer(bus, link=tmp_path / "ne1000") as pumps, PtyServer(tc, link=tmp_path / "tc") as heater:
        held = open_serial(heater.port, baudrate=9600)  # the first campaign's heater port
        try:
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "lab.cli",
                    "run",
                    str(sobol_campaign),
                    "--lab",
                    str(lab),
                    "--out",
                    str(tmp_path / "run"),
                    "--budget",
                    "2",
                ],
                cwd=ROOT,
                env=ENV,
                capture_output=True,
                text=True,
                timeout=300,
            )
        finally:
            held.close()
        assert proc.returncode == 2, proc.stderr[-3000:]
        lines = [line for line in proc.stderr.splitlines() if line.startswith("qdlab:")]
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
        assert f"serial port {tmp_path / 'tc'} is held by another process" in lines[0], lines[0]
        assert pumps.requests == 0 and heater.requests == 0  # not a byte to the pumps or the controller
