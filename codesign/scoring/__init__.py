"""Scoring: stored raw outputs to scores, between the store and the ensembles.

``profiles/`` (one file each) say how a raw generation becomes a label and how labels become a
score, per suite, and which suites they override; ``stored`` arranges a model's stored outputs
per suite as items × variants of labels a profile parsed; ``variants`` scores each variant on
its own labels with the rates every score carries; ``trust`` defines trust over the
perspectives a store measured. No model runs here and nothing imports torch.
"""
