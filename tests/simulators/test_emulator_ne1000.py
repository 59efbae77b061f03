"""The NE-1000 emulator: literal bytes in and out, a third-party client (NESP-Lib), the CLI process."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import SimClock, WallClock
from devices.drivers import ne1000_protocol as proto
from simulators.emulators import IdealPump, NE1000Bus, NE1000Model, PtyServer


def _bus(addresses=(0,), clock=None):
    clock = clock or SimClock()
    pumps = [NE1000Model(a, IdealPump(clock), clock=clock) for a in addresses]
    for p in pumps:
        p.pending_alarm = None  # already past power-up
    return NE1000Bus(pumps), clock


@pytest.mark.parametrize(
    "request_bytes, reply",
    [
        (b"0RAT250UM\r", b"\x0200S\x03"),
        (b"0RAT\r", b"\x0200S0.000UM\x03"),
        (b"0DIA\r", b"\x0200S14.57\x03"),
        (b"0VER\r", b"\x0200SNE1000V3.928\x03"),
        (b"0DIR\r", b"\x0200SINF\x03"),
        (b"0DIS\r", b"\x0200SI0.000W0.000UL\x03"),
        (b"0XYZ\r", b"\x0200S?\x03"),
        (b"0RAT99999UM\r", b"\x0200S?OOR\x03"),
        (b"0RUN\r", b"\x0200S?NA\x03"),  # no rate yet
        (b"0DIRSTK\r", b"\x0200S?NA\x03"),
        (b"5\r", b""),  # nobody at address 5
    ],
)
def test_recorded_requests_get_the_manuals_replies(request_bytes, reply):
    bus, _ = _bus()
    assert bus.receive(request_bytes) == [reply]


def test_first_reply_after_power_up_is_the_reset_alarm():
    clock = SimClock()
    bus = NE1000Bus([NE1000Model(0, IdealPump(clock), clock=clock)])
    assert bus.receive(b"0\r") == [b"\x0200A?R\x03"]
    assert bus.receive(b"0\r") == [b"\x0200S\x03"]


def test_run_pause_stop_and_dispensed_volume_on_the_emulated_clock():
    bus, clock = _bus()
    assert bus.receive(b"0RAT6MM\r0RUN\r") == [b"\x0200S\x03", b"\x0200I\x03"]
    clock.advance(30.0)  # 6 mL/min for 30 s
    assert bus.receive(b"0DIS\r") == [b"\x0200II3000.W0.000UL\x03"]
    assert bus.receive(b"0STP\r0STP\r") == [b"\x0200P\x03", b"\x0200S\x03"]
    assert bus.receive(b"0CLDINF\r0DIS\r") == [b"\x0200S\x03", b"\x0200SI0.000W0.000UL\x03"]


def test_a_volume_target_stops_the_pump_on_the_target_however_late_the_next_request_comes():
    # on a busy machine the server thread ticks late; the real pump has stopped on its target all the same
    bus, clock = _bus()
    assert bus.receive(b"0RAT6MM\r0VOLUL\r0VOL500\r0RUN\r")[-1] == b"\x0200I\x03"
    clock.advance(4.0)  # 400 uL of the 500
    assert bus.receive(b"0DIS\r") == [b"\x0200II400.0W0.000UL\x03"]
    clock.advance(60.0)  # the target was reached 1 s later; nobody asked for 59 s
    assert bus.receive(b"0DIS\r") == [b"\x0200SI500.0W0.000UL\x03"]
    clock.advance(10.0)
    assert bus.receive(b"0DIS\r") == [b"\x0200SI500.0W0.000UL\x03"]  # stopped, and stays stopped


def test_safe_packets_are_accepted_in_basic_mode_and_switch_the_reply_framing():
    bus, _ = _bus()
    assert bus.receive(proto.encode_safe(0, "SAF0")) == [b"\x0200S\x03"]
    assert bus.receive(proto.encode_safe(0, "SAF10")) == [proto.encode_reply(0, "S", safe=True)]
    assert bus.receive(b"0\r") == [proto.encode_reply(0, "S?COM", safe=True)]  # basic packets refused now
    bad = bytearray(proto.encode_safe(0, "RUN"))
    bad[-2] ^= 0xFF
    assert bus.receive(bytes(bad)) == [proto.encode_reply(0, "S?COM", safe=True)]


def test_several_addresses_on_one_chain():
    bus, _ = _bus((0, 1))
    assert bus.receive(b"1RAT1.5UM\r0RAT\r1RAT\r") == [
        b"\x0201S\x03",
        b"\x0200S0.000UM\x03",
        b"\x0201S1.500UM\x03",
    ]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_fuzz_the_emulator_never_crashes_on_random_bytes(data):
    bus, _ = _bus((0, 1))
    replies = bus.receive(data)
    bus.tick()
    for reply in replies:
        if reply:
            assert reply[0] == proto.STX and reply[-1] == proto.ETX


# -- a third-party client: NESP-Lib (pip install nesp-lib) ----------------------------------------
def test_nesp_lib_drives_the_emulator(tmp_path):
    nesp_lib = pytest.importorskip("nesp_lib")
    clock = WallClock(speed=60.0)
    backend = IdealPump(clock)
    bus = NE1000Bus([NE1000Model(0, backend, clock=clock)])
    with PtyServer(bus, link=tmp_path / "ne1000") as server:
        port = nesp_lib.Port(server.port, baud_rate=19200)
        try:
            pump = nesp_lib.Pump(port)  # SAF0 in safe framing, past the power-up alarm, then VER
            assert pump.model_number == 1000 and pump.firmware_version == (3, 928)
            pump.syringe_diameter_mm = 26.7
            assert pump.syringe_diameter_mm == 26.7
            pump.pumping_direction = nesp_lib.PumpingDirection.INFUSE
            assert pump.pumping_direction == nesp_lib.PumpingDirection.INFUSE
            pump.pumping_volume_ml = 0.05
            assert pump.pumping_volume_ml == pytest.approx(0.05)
            for rate in (12.0, 1.5, 0.001):  # mL/min: NESP-Lib sends them as MH, UM and UH
                pump.pumping_rate_ml_per_min = rate
                assert pump.pumping_rate_ml_per_min == pytest.approx(rate, rel=1e-3)
            pump.pumping_rate_ml_per_min = 3.0  # 50 uL in 1 emulated s
            pump.volume_infused_clear()
            pump.run(wait_while_running=False)
            assert pump.running and pump.status == nesp_lib.Status.INFUSING
            pump.wait_while_running()  # polls the status until the volume target stops it
            assert pump.volume_infused_ml == pytest.approx(0.05, abs=0.03)
            pump.run(wait_while_running=False)
            pump.stop(wait_while_running=True)
            assert not pump.running
            pump.safe_mode_timeout_s = 5
            assert pump.safe_mode_timeout_s == 5 and bus.pumps[0].safe
            pump.safe_mode_timeout_s = 0
            assert not bus.pumps[0].safe
        finally:
            port.close()


# -- the command-line emulator as a separate process ----------------------------------------------
def _wait_for(path: Path, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.is_symlink():
            return
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def test_kill_9_of_the_emulator_process_is_a_lost_port(tmp_path):
    from devices.drivers import NE1000Pump, PortLost, SerialTransport, open_serial

    link = tmp_path / "ne1000"
    qdlab = Path(sys.executable).parent / "qdlab"
    proc = subprocess.Popen(
        [str(qdlab), "emulate", "ne1000", "--link", str(link), "--speed", "10"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(link)
        pump = NE1000Pump(
            SerialTransport(lambda: open_serial(str(link), baudrate=19200)),
            syringe_volume_ul=1000,
            timeout_s=0.3,
            watchdog_s=0,
        )
        pump.connect()
        pump.set_flow_ul_min(10.0)
        assert pump.flow_ul_min() == 10.0
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        with pytest.raises(PortLost, match="port was lost"):
            for _ in range(3):
                pump.flow_ul_min()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
