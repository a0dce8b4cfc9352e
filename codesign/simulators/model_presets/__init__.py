"""Bundled model shapes: published Hugging Face config.json values, one JSON file per model."""
