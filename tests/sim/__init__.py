"""Hardware-free BLE simulation for tests: a Bumble-based bleak backend and virtual straps."""
