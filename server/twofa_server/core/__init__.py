"""The domain of twofa: pure rules with the clock, randomness and store injected.

Nothing in this package imports grpc, lmdb, smtplib or prometheus_client.
"""
