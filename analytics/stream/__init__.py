"""The faust stream processor: per-patient state and 1 Hz features from sensor readings."""
