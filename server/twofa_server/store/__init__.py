"""Where twofa keeps its state: the record codec and key layout every store shares, and the
stores themselves (lmdb/: embedded, the default)."""
