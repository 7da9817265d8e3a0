"""loss(), source heads, the fused large-vocabulary cross-entropy and calibration."""
