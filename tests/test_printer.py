"""Printing ZPL to a network label printer over raw TCP, against a fake printer on loopback (real
sockets): what arrives is one well-formed ZPL format per label with the expected data, and a
printer that is off, absent or stuck gives a clear error instead of a hang."""

from __future__ import annotations

import re
import socket

import pytest

from hardware import labels
from hardware.fake_printer import FakePrinter
from hardware.printers import DEFAULT_PORT, PrinterAddress, PrinterError, parse_address, send_raw

SSCC = labels.build_sscc("0614141", 123456789, extension_digit=1)


def well_formed_zpl(job: bytes) -> list[str]:
    """Check one received job is a ZPL II format a Zebra printer accepts; returns its ^FD data fields."""
    text = job.decode("ascii")  # ^CI28 data is escaped with ^FH, so the job itself is plain ASCII
    assert text.startswith("^XA")
    assert text.rstrip("\n").endswith("^XZ")
    assert text.count("^XA") == text.count("^XZ") == 1
    fields = re.findall(r"\^FD(.*?)\^FS", text, flags=re.DOTALL)
    assert text.count("^FD") == text.count("^FS") == len(fields) > 0
    assert all("^" not in field and "~" not in field for field in fields)
    return fields


@pytest.fixture
def printer() -> FakePrinter:
    with FakePrinter() as fake:
        yield fake


def test_a_bin_label_arrives_as_one_well_formed_job(printer: FakePrinter) -> None:
    zpl = labels.render_zpl(labels.location_label("W1-A01-03", warehouse="W1", name="Aisle A"))
    sent = send_raw(printer.address, zpl)
    (job,) = printer.wait_for_jobs(1)
    assert sent == len(job) == len(zpl.encode())
    fields = well_formed_zpl(job)
    assert "W1-A01-03" in fields  # the Code 128 data and the human-readable line
    assert "^BCN" in job.decode()


def test_a_pallet_label_carries_the_sscc_as_gs1_128_with_fnc1(printer: FakePrinter) -> None:
    send_raw(printer.address, labels.render_zpl(labels.sscc_label(SSCC), copies=2))
    (job,) = printer.wait_for_jobs(1)
    fields = well_formed_zpl(job)
    assert ">;>800" + SSCC in fields  # subset C, FNC1 (GS1-128), AI 00, the 18 digits
    assert "(00) 1 0614141 123456789 7" in fields
    assert "^PQ2" in job.decode()


def test_an_item_label_carries_its_gtin_and_sku(printer: FakePrinter) -> None:
    send_raw(printer.address, labels.render_zpl(labels.item_label("PLAIN", "Plain widget", gtin="04006381333931")))
    fields = well_formed_zpl(printer.wait_for_jobs(1)[0])
    assert "400638133393" in fields  # ^BE takes 12 digits and prints the check digit itself
    assert "PLAIN" in fields and "Plain widget" in fields


def test_text_that_zpl_would_read_as_commands_is_escaped(printer: FakePrinter) -> None:
    send_raw(printer.address, labels.render_zpl(labels.location_label("W1-A1", name="Kühl ^XZ ~JA _5E")))
    job = printer.wait_for_jobs(1)[0]
    fields = well_formed_zpl(job)
    assert "K_C3_BChl _5EXZ _7EJA _5F5E" in fields
    assert "^FH_^FDK_C3_BC" in job.decode()


def test_several_jobs_arrive_in_order(printer: FakePrinter) -> None:
    for code in ("W1-A1", "W1-A2", "W1-A3"):
        send_raw(printer.address, labels.render_zpl(labels.location_label(code)))
    jobs = printer.wait_for_jobs(3)
    assert [well_formed_zpl(job)[0] for job in jobs] == ["W1-A1", "W1-A2", "W1-A3"]


def test_a_printer_that_is_off_is_a_clear_error() -> None:
    with FakePrinter() as fake:
        address = fake.address
    with pytest.raises(PrinterError, match=r"refused the connection"):
        send_raw(address, "^XA^XZ", timeout=2)


def test_a_printer_that_never_reads_times_out_with_a_clear_error() -> None:
    # Listening but never accepting: the handshake completes in the kernel, the job is never taken.
    with socket.create_server(("127.0.0.1", 0)) as stuck:
        host, port = stuck.getsockname()[:2]
        with pytest.raises(PrinterError, match=r"did not answer within 0.3 s"):
            send_raw(f"{host}:{port}", "^XA^XZ", timeout=0.3)


@pytest.mark.parametrize(("text", "expected"), [
    ("zebra-1", PrinterAddress("zebra-1", DEFAULT_PORT)),
    ("10.0.0.7:9101", PrinterAddress("10.0.0.7", 9101)),
    (" 10.0.0.7 ", PrinterAddress("10.0.0.7", 9100)),
    ("[fe80::1]:9100", PrinterAddress("fe80::1", 9100)),
    ("[::1]", PrinterAddress("::1", 9100)),
])
def test_printer_addresses_parse(text: str, expected: PrinterAddress) -> None:
    assert parse_address(text) == expected
    assert parse_address(str(expected)) == expected


@pytest.mark.parametrize("text", ["", "host:0", "host:70000", "host:x", "http://host", "a b:9100", "[::1]x"])
def test_bad_printer_addresses_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_address(text)
