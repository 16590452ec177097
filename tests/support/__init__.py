"""Helpers shared by the tests of every layer (clock, TOTP, enrolment, servers, mail, processes)."""
