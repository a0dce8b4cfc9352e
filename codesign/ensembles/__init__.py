"""Ensembles: precision-ensemble voting and the scores of every subset, from the store alone.

A pure function of stored predictions: no model runs here and nothing imports torch.
``vote`` is Algorithm 1 vectorised over items and subsets, ``early_exit`` the lossless early
exit, ``stored`` arranges the store's labels per suite, ``scores`` scores variants and every
subset under each vote rule.
"""
