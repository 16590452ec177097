"""The shared store: every instance of a deployment on one PostgreSQL database."""
