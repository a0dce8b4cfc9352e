"""Vote rule of an ensemble of two or more members (majority, or weighted by MMLU accuracy)."""

from __future__ import annotations

from codesign.search.space import Config, Space, TrialLike, parameter_group


@parameter_group("vote", order=20, help="vote rule (ensembles of two or more)")
def vote(trial: TrialLike, space: Space, config: Config) -> None:
    if len(config.members) > 1:
        config.vote_rule = trial.suggest_categorical("vote_rule", space.vote_rules)
