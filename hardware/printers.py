"""Send ZPL to a network label printer over raw TCP (port 9100, "JetDirect").

Zebra and compatible printers read a job from a plain TCP stream: connect, write the ZPL, close. They
answer nothing, so a job counts as sent once the bytes are written and the connection closes cleanly;
what the printer cannot be asked about (paper out, head open) it shows on its own panel.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

DEFAULT_PORT = 9100


class PrinterError(RuntimeError):
    """The job could not be delivered; the message says to which printer and why."""


@dataclass(frozen=True)
class PrinterAddress:
    host: str
    port: int = DEFAULT_PORT

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_address(text: str) -> PrinterAddress:
    """``host``, ``host:port``, ``[IPv6]`` or ``[IPv6]:port``; port 9100 when none is given."""
    text = text.strip()
    if not text:
        raise ValueError("a printer address is host or host:port")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not rest.startswith(":"):
            raise ValueError(f"not a printer address: {text!r}")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    if not host or any(c.isspace() or c in "/?#@" for c in host):
        raise ValueError(f"not a printer host: {host!r}")
    if not port_text:
        return PrinterAddress(host)
    if not port_text.isascii() or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"not a TCP port (1-65535): {port_text!r}")
    return PrinterAddress(host, int(port_text))


def send_raw(address: PrinterAddress | str, data: bytes | str, *, timeout: float = 5.0) -> int:
    """Deliver one job; returns the number of bytes sent. Raises PrinterError on any network failure."""
    if isinstance(address, str):
        address = parse_address(address)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with socket.create_connection((address.host, address.port), timeout=timeout) as connection:
            connection.sendall(payload)
            # Half-close and wait for the printer to close its side: the bytes have then left our
            # buffers, rather than dying with the socket if the printer was slow to read them.
            connection.shutdown(socket.SHUT_WR)
            while connection.recv(4096):
                pass
    except socket.timeout:
        raise PrinterError(f"The label printer at {address} did not answer within {timeout:g} s.") from None
    except ConnectionRefusedError:
        raise PrinterError(f"The label printer at {address} refused the connection (is it on, and is "
                           f"port {address.port} its raw printing port?).") from None
    except socket.gaierror as exc:
        raise PrinterError(f"The label printer host {address.host!r} cannot be resolved ({exc.strerror}).") from None
    except OSError as exc:
        raise PrinterError(f"Could not send to the label printer at {address}: {exc.strerror or exc}.") from None
    return len(payload)
