"""Background jobs of a running server: sweeping what expired, re-sealing after a rotation."""
