"""The gRPC adapter: the servicer, proto <-> domain conversion, error mapping, interceptors,
transport security and QR rendering."""
