"""The gRPC adapter: proto <-> domain conversion, error mapping, the servicer."""
