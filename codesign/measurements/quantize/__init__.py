"""Quantize: model resolution, calibration text, variant recipes and keys, backends, and the
float32 read-back of quantized kernels. Each variant is made once and cached under its key."""
