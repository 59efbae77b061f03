"""Helpers for driver tests: a serial port that replays recorded byte exchanges."""

import pytest


class ScriptedPort:
    """A pyserial stand-in: each write must equal the next recorded request; its reply is then readable.

    ``exchanges`` is a list of (request bytes, reply bytes); a reply of b"" is a device that said nothing.
    """

    def __init__(self, exchanges):
        self.exchanges = list(exchanges)
        self.written = []
        self._rx = bytearray()
        self.is_open = True
        self.timeout = 0.01
        self.port = None
        self.baudrate = 19200

    def write(self, data):
        data = bytes(data)
        self.written.append(data)
        assert self.exchanges, f"unexpected request {data!r} after the recording ended"
        expected, reply = self.exchanges.pop(0)
        assert data == expected, f"sent {data!r}, the recording has {expected!r}"
        self._rx += reply
        return len(data)

    def read(self, n=1):
        out = bytes(self._rx[:n])
        del self._rx[:n]
        return out

    @property
    def in_waiting(self):
        return len(self._rx)

    def reset_input_buffer(self):
        self._rx.clear()

    def reset_output_buffer(self):
        pass

    def flush(self):
        pass

    def open(self):
        self.is_open = True

    def close(self):
        self.is_open = False


@pytest.fixture
def scripted():
    return ScriptedPort
