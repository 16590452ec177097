"""The embedded LMDB store: key layout, record codecs, transactions."""
