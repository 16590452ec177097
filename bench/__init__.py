"""Load generator and benchmark report for twofa (``python -m bench.run``; see bench/README.md)."""
