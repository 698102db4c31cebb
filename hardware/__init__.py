"""Devices around the service: camera frame decoding, label rendering and label printers.

A leaf package: it imports nothing from ``warehouse`` (tests/test_hardware_decoding.py checks), so
that it can be benchmarked, reused by other tools and tested without a database.
"""
