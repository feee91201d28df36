"""Helpers that run real components for the tests: the receiver process, a TCP fault injector."""
