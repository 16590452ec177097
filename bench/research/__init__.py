"""Research tools that `make bench` does not run: server styles, py-spy (see README.md)."""
