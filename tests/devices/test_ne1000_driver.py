"""NE-1000 driver: protocol facts, recorded byte exchanges, and the driver against its emulator on a pty."""

import binascii
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import WallClock
from devices.drivers import NE1000Pump, PortLost, SerialTransport, open_serial
from devices.drivers import ne1000_protocol as proto
from models.errors import DeviceError, ProtocolError
from simulators.emulators import Faults, IdealPump, NE1000Bus, NE1000Model, PtyServer

STX, ETX = b"\x02", b"\x03"


# -- protocol facts -------------------------------------------------------------------------------
def test_reference_checksum_and_frames():
    assert binascii.crc_hqx(b"SAF0", 0) == 0x5543 == proto.crc16(b"SAF0")
    assert proto.encode_basic(0, "RAT250UM") == b"0RAT250UM\r"
    packet = proto.encode_safe(0, "SAF0")
    assert packet == b"\x02\x09" + b"0SAF0" + proto.crc16(b"0SAF0").to_bytes(2, "big") + ETX
    assert proto.decode_safe_frame(packet) == b"0SAF0"
    assert proto.parse_reply(b"\x0200S\x03", safe=False) == proto.Reply(0, "S")
    assert proto.parse_reply(b"\x0200S14.57\x03", safe=False).data == "14.57"
    assert proto.parse_reply(b"\x0200SNE1000V3.928\x03", safe=False).data == "NE1000V3.928"
    assert proto.parse_reply(b"\x0201A?R\x03", safe=False) == proto.Reply(1, None, alarm="R")
    assert proto.parse_reply(b"\x0200S?OOR\x03", safe=False).error == "OOR"
    assert proto.parse_reply(b"\x0200I?\x03", safe=False).error == ""
    assert proto.parse_reply(proto.encode_reply(7, "I", safe=True), safe=True) == proto.Reply(7, "I")


@pytest.mark.parametrize(
    "value, text",
    [
        (250, "250.0"),
        (0.5, "0.500"),
        (14.57, "14.57"),
        (1234.5, "1234"),
        (9999.4, "9999"),
        (9999.6, None),
        (-1, None),
        (0.0004, "0.000"),
    ],
)
def test_number_format_has_at_most_four_digits_and_three_decimals(value, text):
    assert proto.format_number(value) == text


@pytest.mark.parametrize(
    "flow, argument",
    [
        (250, "250.0UM"),
        (0.5, "0.500UM"),
        (0.1234, "7.404UH"),
        (12345, "740.7MH"),
        (2000, "2000UM"),
        (20000, "20.00MM"),
    ],
)
def test_rate_unit_keeps_precision(flow, argument):
    assert proto.rate_command_argument(flow) == argument
    assert proto.parse_rate(
        argument[:-2] + ("" if "." in argument else ".") + argument[-2:]
    ) == pytest.approx(flow, rel=2e-4)


@pytest.mark.parametrize(
    "frame",
    [
        b"",
        b"\x02",
        b"\x0200S",
        b"00S\x03",
        b"\x020S\x03",
        b"\x0200Z\x03",
        b"\x0200A?Q\x03",
        b"\x0200S?XYZ\x03",
        b"\x02\xff\xfeS\x03",
        b"\x0200S\x00\x03",
    ],
)
def test_garbled_replies_are_protocol_errors(frame):
    with pytest.raises(ProtocolError):
        proto.parse_reply(frame, safe=False)


def test_safe_reply_with_bad_checksum_is_a_protocol_error():
    frame = bytearray(proto.encode_reply(0, "S", safe=True))
    frame[-2] ^= 0x01
    with pytest.raises(ProtocolError, match="checksum"):
        proto.parse_reply(bytes(frame), safe=True)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40), st.booleans())
def test_fuzz_reply_parser_raises_only_protocol_error(data, safe):
    try:
        proto.parse_reply(data, safe=safe)
    except ProtocolError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20))
def test_fuzz_value_parsers_raise_only_protocol_error(text):
    for parse in (proto.parse_rate, proto.parse_volume, proto.parse_dispensed, proto.parse_number):
        try:
            parse(text)
        except ProtocolError:
            pass


# -- recorded byte exchanges ----------------------------------------------------------------------
def _reply(body, address=0):
    return proto.encode_reply(address, body, safe=False)


CONNECT = [
    (proto.encode_safe(0, "SAF0"), _reply("A?R")),  # first reply after power-up: the alarm...
    (proto.encode_safe(0, "SAF0"), _reply("S")),  # ...and the command again
    (b"0VER\r", b"\x0200SNE1000V3.928\x03"),
    (b"0STP\r", b"\x0200S\x03"),
    (b"0DIA14.57\r", b"\x0200S\x03"),
    (b"0DIRINF\r", b"\x0200S\x03"),
    (b"0CLDINF\r", b"\x0200S\x03"),
    (b"0CLDWDR\r", b"\x0200S\x03"),
]


def _pump(port, **kwargs):
    options = dict(
        address=0,
        syringe_volume_ul=1000.0,
        syringe_diameter_mm=14.57,
        timeout_s=0.05,
        retries=1,
        watchdog_s=0,
    )  # the recordings are of basic mode
    options.update(kwargs)
    return NE1000Pump(SerialTransport(port, name="recorded port"), **options)


def test_recorded_connect_run_read_stop(scripted):
    port = scripted(
        CONNECT
        + [
            (b"0STP\r", b"\x0200S\x03"),
            (b"0DIS\r", b"\x0200SI0.000W0.000UL\x03"),
            (b"0RAT250.0UM\r", b"\x0200S\x03"),
            (b"0VOLUL\r", b"\x0200S\x03"),
            (b"0VOL1000\r", b"\x0200S\x03"),
            (b"0RUN\r", b"\x0200I\x03"),
            (b"0\r", b"\x0200I\x03"),
            (b"0RAT\r", b"\x0200I250.0UM\x03"),
            (b"0DIS\r", b"\x0200II12.50W0.000UL\x03"),
            (b"0\r", b"\x0200I\x03"),
            (b"0STP\r", b"\x0200P\x03"),
            (b"0STP\r", b"\x0200S\x03"),
        ]
    )
    pump = _pump(port)
    pump.connect()
    assert pump.firmware == "NE1000V3.928"
    pump.set_flow_ul_min(250.0)
    assert pump.flow_ul_min() == 250.0
    assert pump.dispensed_ul() == 12.5
    assert pump.alarm() is None
    pump.stop()
    assert not port.exchanges


def test_recorded_safe_mode_packets(scripted):
    safe = lambda body: proto.encode_reply(0, body, safe=True)  # noqa: E731
    port = scripted(
        CONNECT[1:]
        + [
            (proto.encode_safe(0, "SAF3"), safe("S")),
            (proto.encode_safe(0, ""), safe("S")),
            (proto.encode_safe(0, "SAF0"), _reply("S")),
        ]
    )
    pump = _pump(port, watchdog_s=3)
    pump._keepalive_stop.set()
    pump.connect()
    pump._keepalive_stop.set()
    assert pump.alarm() is None
    pump.close()
    assert not port.exchanges


def test_recorded_stall_alarm_is_latched(scripted):
    port = scripted(CONNECT[1:] + [(b"0\r", _reply("A?S"))])
    port.exchanges.append((b"0\r", _reply("S")))
    pump = _pump(port)
    pump.connect()
    assert pump.alarm() == "stall"


def test_recorded_refusal_is_a_device_error(scripted):
    port = scripted(
        CONNECT[1:]
        + [
            (b"0STP\r", _reply("S")),
            (b"0DIS\r", _reply("SI0.000W0.000UL")),
            (b"0RAT250.0UM\r", _reply("S?OOR")),
        ]
    )
    pump = _pump(port)
    pump.connect()
    with pytest.raises(DeviceError, match="refused 'RAT250.0UM': value out of range"):
        pump.set_flow_ul_min(250.0)


def test_recorded_silence_is_retried_then_a_device_error_that_says_what_to_check(scripted):
    port = scripted([(proto.encode_safe(0, "SAF0"), b"")] * 2)
    with pytest.raises(DeviceError, match="no reply to 'SAF0' after 2 tries.*check that the pump is on"):
        _pump(port).connect()


def test_recorded_garbage_is_retried_then_a_protocol_error(scripted):
    port = scripted(
        [(proto.encode_safe(0, "SAF0"), b"\x0200Q\x03"), (proto.encode_safe(0, "SAF0"), b"\x02zz\x03")]
    )
    with pytest.raises(ProtocolError, match="garbled reply"):
        _pump(port).connect()


def test_recorded_garbage_then_good_reply_recovers(scripted):
    port = scripted([(proto.encode_safe(0, "SAF0"), b"\x02\x99\x03")] + CONNECT[1:])
    pump = _pump(port)
    pump.connect()
    assert pump.firmware.startswith("NE1000")


def test_loop_url_echo_is_not_mistaken_for_a_pump():
    pump = NE1000Pump(
        SerialTransport(open_serial("loop://", baudrate=19200)),
        syringe_volume_ul=1000,
        timeout_s=0.05,
        retries=0,
        watchdog_s=0,
    )
    with pytest.raises(ProtocolError):
        pump.connect()  # the loop echoes our own request back: not an NE-1000 reply


# -- against the emulator on a pseudo-terminal ----------------------------------------------------
@pytest.fixture
def emulate(tmp_path):
    servers = []

    def start(addresses=(0,), *, faults=(), speed=60.0, diameter=14.57):
        clock = WallClock(speed=speed)
        backends = {a: IdealPump(clock) for a in addresses}
        bus = NE1000Bus([NE1000Model(a, backends[a], clock=clock, diameter_mm=diameter) for a in addresses])
        server = PtyServer(
            bus, link=tmp_path / f"ne1000-{len(servers)}", faults=Faults.parse(list(faults))
        ).start()
        servers.append(server)
        return server, bus, backends

    yield start
    for server in servers:
        server.stop()


def _driver(server, address=0, **kwargs):
    options = dict(syringe_volume_ul=10000.0, timeout_s=0.2, retries=2, name=f"pump{address}", watchdog_s=0)
    options.update(kwargs)
    return NE1000Pump(
        SerialTransport(lambda: open_serial(server.port, baudrate=19200), name=server.port),
        address=address,
        **options,
    )


def test_driver_runs_the_emulated_pump(emulate):
    server, bus, backends = emulate()
    pump = _driver(server, syringe_diameter_mm=14.57)
    pump.connect()
    clock = backends[0].clock
    before = clock.now()
    pump.set_flow_ul_min(600.0)  # 10 uL per emulated second, 60 emulated seconds per wall second
    running = clock.now()
    time.sleep(0.25)
    assert pump.flow_ul_min() == 600.0
    assert backends[0].flow_ul_min() == 600.0
    read_from = clock.now()
    dispensed = pump.dispensed_ul()
    # what the emulator's own clock says ran, however fast the wall clock went (the reply has 3 decimals
    # of mL: 1 uL)
    assert 10.0 * (read_from - running) - 1.0 <= dispensed <= 10.0 * (clock.now() - before) + 1.0
    pump.set_flow_ul_min(0.1234)  # while running: a rate change in uL/h
    assert bus.pumps[0].rate_unit == "UH" and backends[0].flow_ul_min() == pytest.approx(0.1234, rel=1e-3)
    pump.stop()
    assert pump.flow_ul_min() == 0.0 and backends[0].flow_ul_min() == 0.0
    pump.close()


def test_several_pumps_share_one_port(emulate):
    server, bus, backends = emulate((0, 1, 2))
    transport = SerialTransport(lambda: open_serial(server.port, baudrate=19200), name=server.port)
    pumps = [
        NE1000Pump(transport, address=a, syringe_volume_ul=10000, timeout_s=0.2, name=f"p{a}", watchdog_s=0)
        for a in range(3)
    ]
    for pump in pumps:
        pump.connect()
    for pump, rate in zip(pumps, (10.0, 20.0, 30.0)):
        pump.set_flow_ul_min(rate)
    assert [backends[a].flow_ul_min() for a in range(3)] == [10.0, 20.0, 30.0]
    assert [p.flow_ul_min() for p in pumps] == [10.0, 20.0, 30.0]
    for pump in pumps:
        pump.close()


def test_watchdog_is_kept_alive_by_polling_and_stops_the_pump_when_the_controller_goes_quiet(emulate):
    server, bus, backends = emulate()
    pump = _driver(server, watchdog_s=1)
    pump.connect()
    pump.set_flow_ul_min(100.0)
    time.sleep(1.6)  # longer than the watchdog: the keep-alive thread holds it
    assert bus.pumps[0].status == "I" and backends[0].flow_ul_min() == 100.0
    pump._keepalive_stop.set()  # the controller hangs
    time.sleep(1.5)
    assert bus.pumps[0].status == "S" and backends[0].flow_ul_min() == 0.0
    assert pump.alarm() == "timeout"
    pump.close()


def test_syringe_running_empty_stops_the_pump_and_refuses_to_run(emulate):
    server, bus, backends = emulate()
    pump = _driver(server, syringe_volume_ul=20.0)
    pump.connect()
    pump.set_flow_ul_min(600.0)  # 20 uL in 2 emulated s
    time.sleep(0.3)
    assert backends[0].flow_ul_min() == 0.0  # the volume target stopped it, with nobody asking
    assert pump.alarm() == "empty"
    assert 20.0 <= pump.dispensed_ul() < 35.0  # the emulator checks the target every 20 ms (1.2 emulated s)
    with pytest.raises(DeviceError, match="syringe empty.*refill"):
        pump.set_flow_ul_min(10.0)


def test_stalled_motor_raises_a_stall_alarm_and_stops(emulate):
    server, bus, backends = emulate()
    pump = _driver(server)
    pump.connect()
    pump.set_flow_ul_min(100.0)
    backends[0].stall()
    time.sleep(0.1)
    assert pump.alarm() == "stall"
    assert pump.flow_ul_min() == 0.0 and bus.pumps[0].status == "S"


@pytest.mark.parametrize("fault, alarm", [("stall-after:13", "stall"), ("power-cycle-after:13", "reset")])
def test_injected_pump_faults_surface_as_alarms(emulate, fault, alarm):
    server, bus, backends = emulate(faults=[fault])
    pump = _driver(server)
    pump.connect()  # 7 requests (power-up alarm included)
    pump.set_flow_ul_min(100.0)  # requests 8-13, RUN last: the fault strikes as it starts
    time.sleep(0.05)
    assert pump.alarm() == alarm
    assert backends[0].flow_ul_min() == 0.0


def test_dropped_replies_are_retried(emulate):
    server, bus, backends = emulate(faults=["drop:0.3"])
    pump = _driver(server, timeout_s=0.05, retries=6)
    pump.connect()
    pump.set_flow_ul_min(50.0)
    assert pump.flow_ul_min() == 50.0


def test_garbled_replies_are_retried_or_reported(emulate):
    server, bus, backends = emulate(faults=["garble:1.0"])
    pump = _driver(server, timeout_s=0.05, retries=1)
    with pytest.raises(ProtocolError):
        pump.connect()


def test_hung_pump_is_a_device_error(emulate):
    server, bus, backends = emulate(faults=["hang-after:10"])
    pump = _driver(server, timeout_s=0.05, retries=1)
    pump.connect()
    with pytest.raises(DeviceError, match="no reply"):
        for _ in range(5):
            pump.flow_ul_min()


def test_delayed_replies_within_the_timeout_are_fine(emulate):
    server, bus, backends = emulate(faults=["delay:0.02"])
    pump = _driver(server, timeout_s=0.3)
    pump.connect()
    assert pump.alarm() is None


def test_lost_port_is_a_clear_device_error(emulate):
    server, bus, backends = emulate()
    pump = _driver(server)
    pump.connect()
    server.stop()  # the emulator (the instrument, the USB adapter) is gone
    with pytest.raises(PortLost, match="port was lost"):
        for _ in range(3):
            pump.flow_ul_min()


def _until_empty(pump, timeout_s=20.0):
    """Wait (wall time, the emulator's) until the pump has stopped on its volume target."""
    deadline = time.monotonic() + timeout_s
    while pump.alarm() != "empty" and time.monotonic() < deadline:
        time.sleep(0.05)
    return pump.alarm()


def test_refill_clears_the_pumps_counter_and_the_empty_alarm_so_it_runs_again(emulate):
    server, bus, backends = emulate()
    pump = _driver(server, syringe_volume_ul=20.0)
    pump.connect()
    pump.set_flow_ul_min(600.0)
    assert _until_empty(pump) == "empty"
    pump.refill(15.0)  # a partly filled syringe: CLDINF/CLDWDR, then a volume target of 15 uL
    assert pump.alarm() is None and pump.dispensed_ul() == 0.0 and pump.remaining_ul() == 15.0
    pump.set_flow_ul_min(600.0)
    assert _until_empty(pump) == "empty"
    assert backends[0].flow_ul_min() == 0.0 and pump.dispensed_ul() >= 15.0
    with pytest.raises(DeviceError, match=r"syringe empty \(\d+\.\d of 15 uL dispensed\)"):
        pump.set_flow_ul_min(10.0)
    pump.close()


def test_pumps_on_one_port_share_the_rigs_transport_and_another_rig_opens_its_own():
    """The transports of a port live in the rig's SerialPorts, not in a process-wide table."""
    from devices.drivers import SerialPorts
    from devices.drivers.ne1000 import make_ne1000
    from lab.config.lab_toml import PumpConfig

    def settings(address, port="/dev/ttyUSB0"):
        return PumpConfig(
            type="ne1000",
            reagent="cd",
            syringe_volume="10 mL",
            min_rate="1 uL/min",
            max_rate="100 uL/min",
            port=port,
            address=address,
        )

    ports = SerialPorts()
    cd, se = (make_ne1000(settings=settings(a), name=n, ports=ports) for a, n in ((0, "cd"), (1, "se")))
    other = make_ne1000(settings=settings(2, "/dev/ttyUSB1"), name="solvent", ports=ports)
    assert cd.transport is se.transport and other.transport is not cd.transport
    again = make_ne1000(settings=settings(0), name="cd", ports=SerialPorts())  # a second rig
    assert again.transport is not cd.transport
