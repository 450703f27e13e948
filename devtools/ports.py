"""Free TCP ports on the loopback interface."""

from __future__ import annotations

import socket
import time

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    The port is only free at the moment of the call; the server that takes
    it should start soon after.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
    return port


def port_open(port: int, host: str = LOOPBACK) -> bool:
    """Return whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_ports(ports: list[int], timeout: float, host: str = LOOPBACK) -> bool:
    """Wait until every port accepts connections; False when time runs out."""
    deadline = time.monotonic() + timeout
    pending = list(ports)
    while pending:
        pending = [port for port in pending if not port_open(port, host)]
        if not pending:
            break
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
