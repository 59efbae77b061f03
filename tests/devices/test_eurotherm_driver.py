"""Eurotherm-class Modbus-RTU heater driver: recorded frames, the emulator, pymodbus as a third-party client."""

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices import SimClock, WallClock
from devices.drivers import EurothermHeater, PortLost, SerialTransport, open_serial
from models.errors import DeviceError, ProtocolError
from simulators.emulators import IdealHeater, ModbusTC, PtyServer, Faults, modbus_crc


def _frame(hexbytes):
    body = bytes.fromhex(hexbytes)
    return body + modbus_crc(body)


def test_modbus_crc_matches_the_specification_example():
    assert modbus_crc(bytes.fromhex("010300010001")) == bytes.fromhex("d5ca")  # read PV of slave 1


def test_recorded_exchange_reads_pv_and_writes_sp(scripted):
    port = scripted(
        [
            (_frame("010300010001"), _frame("01030200fa")),  # PV 25.0 degC (250)
            (_frame("0106000209c4"), _frame("0106000209c4")),  # SP 250.0 degC (2500)
            (_frame("010300020001"), _frame("01030209c4")),
            (_frame("010300010001"), _frame("010302fff6")),  # -1.0 degC: signed
        ]
    )
    heater = EurothermHeater(SerialTransport(port), timeout_s=0.05, retries=0)
    heater.connect()
    heater.set_setpoint_c(250.0)
    assert heater.setpoint_c() == 250.0
    assert heater.temperature_c() == -1.0
    assert not port.exchanges


def test_recorded_exception_reply_is_a_refusal(scripted):
    port = scripted(
        [(_frame("010300010001"), _frame("01030200fa")), (_frame("010600020fa0"), _frame("018603"))]
    )
    heater = EurothermHeater(SerialTransport(port), timeout_s=0.05, retries=0)
    heater.connect()
    with pytest.raises(DeviceError, match="refused set point 400"):
        heater.set_setpoint_c(400.0)


def test_recorded_silence_and_garbage(scripted):
    port = scripted([(_frame("010300010001"), b"")] * 2)
    with pytest.raises(DeviceError, match="no reply to the process value after 2 tries"):
        EurothermHeater(SerialTransport(port), timeout_s=0.05, retries=1).connect()
    port = scripted([(_frame("010300010001"), b"\x01\x03\x02\x00\xfa\x00\x00")])
    with pytest.raises(ProtocolError, match="garbled"):
        EurothermHeater(SerialTransport(port), timeout_s=0.05, retries=0).connect()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_fuzz_the_emulator_and_the_reply_parser(data):
    tc = ModbusTC(IdealHeater(SimClock()), clock=SimClock())
    tc.receive(data)
    tc.tick()
    # the driver's parser (minimalmodbus behind it) on random bytes: only ProtocolError/DeviceError come out
    port = _OneReply(data)
    heater = EurothermHeater(SerialTransport(port), timeout_s=0.01, retries=0)
    try:
        heater.connect()
    except DeviceError:
        pass


class _OneReply:
    def __init__(self, reply):
        self.reply, self.rx, self.is_open, self.timeout, self.port, self.baudrate = (
            reply,
            b"",
            True,
            0.01,
            None,
            9600,
        )

    def write(self, data):
        self.rx = self.reply
        return len(data)

    def read(self, n=1):
        out, self.rx = self.rx[:n], self.rx[n:]
        return out

    def reset_input_buffer(self):
        self.rx = b""

    def reset_output_buffer(self):
        pass

    def flush(self):
        pass

    def open(self):
        pass

    def close(self):
        pass


@pytest.fixture
def tc_server(tmp_path):
    servers = []

    def start(faults=()):
        clock = WallClock(speed=60.0)
        backend = IdealHeater(clock, time_constant_s=30.0)
        server = PtyServer(
            ModbusTC(backend, clock=clock, sp_high_c=350.0),
            link=tmp_path / f"tc{len(servers)}",
            faults=Faults.parse(list(faults)),
        ).start()
        servers.append(server)
        return server, backend

    yield start
    for server in servers:
        server.stop()


def _heater(server, **kwargs):
    return EurothermHeater(SerialTransport(lambda: open_serial(server.port, baudrate=9600)), **kwargs)


def test_driver_heats_the_emulated_coil(tc_server):
    server, backend = tc_server()
    heater = _heater(server)
    heater.connect()
    assert heater.temperature_c() == 25.0
    heater.set_setpoint_c(250.0)
    time.sleep(0.6)  # 36 emulated s, time constant 30 s
    assert 100.0 < heater.temperature_c() < 250.0
    assert heater.setpoint_c() == 250.0 and heater.output_percent() > 0
    with pytest.raises(DeviceError, match="refused"):
        heater.set_setpoint_c(360.0)  # beyond the controller's own set-point range
    heater.close()


def test_set_point_ramp_limit(tc_server):
    server, backend = tc_server()
    heater = _heater(server)
    heater.connect()
    heater.set_ramp_rate_c_min(60.0)  # 1 degC per emulated s
    heater.set_setpoint_c(200.0)
    time.sleep(0.2)  # ~12 emulated s
    assert 25.0 < backend.setpoint_c() < 60.0 and heater.setpoint_c() == 200.0


def test_hung_controller_and_lost_port(tc_server):
    server, _ = tc_server(faults=["hang-after:2"])
    heater = _heater(server, timeout_s=0.05, retries=1)
    heater.connect()
    heater.temperature_c()
    with pytest.raises(DeviceError, match="no reply"):
        heater.temperature_c()
    server2, _ = tc_server()
    heater2 = _heater(server2)
    heater2.connect()
    server2.stop()
    with pytest.raises(PortLost):
        for _ in range(3):
            heater2.temperature_c()


def test_garbled_replies_are_protocol_errors(tc_server):
    server, _ = tc_server(faults=["garble:1.0"])
    with pytest.raises(ProtocolError):
        _heater(server, timeout_s=0.05, retries=1).connect()


def test_third_party_clients_minimalmodbus_and_pymodbus(tc_server):
    import minimalmodbus
    from pymodbus.client import ModbusSerialClient

    server, backend = tc_server()
    instrument = minimalmodbus.Instrument(server.port, 1)
    instrument.serial.timeout = 0.3
    try:
        assert instrument.read_register(1, 1, signed=True) == 25.0
        instrument.write_register(2, 180.5, 1, functioncode=6, signed=True)
        assert backend.setpoint_c() == 180.5
    finally:
        instrument.serial.close()
    client = ModbusSerialClient(server.port, baudrate=9600, timeout=0.5, retries=1)
    assert client.connect()
    try:
        reply = client.read_holding_registers(1, count=2, device_id=1)
        assert not reply.isError() and reply.registers[1] == 1805
        assert client.write_register(2, 2000, device_id=1).isError() is False
        assert backend.setpoint_c() == 200.0
        assert client.read_holding_registers(99, count=1, device_id=1).isError()  # unknown register
    finally:
        client.close()
