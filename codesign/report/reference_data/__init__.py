"""Published reference numbers, shipped as data with their source (never mixed with measured)."""
