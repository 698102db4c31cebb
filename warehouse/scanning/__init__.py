"""Scanning: every raw scan normalised, resolved to what it identifies, and logged."""
