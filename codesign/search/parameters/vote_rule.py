"""Vote rule of an ensemble of two or more members (majority, or weighted by MMLU accuracy)."""

from __future__ import annotations

from codesign.ensembles.scores import VOTE_RULES
from codesign.search.space import Config, Option, Space, TrialLike, parameter_group

RULES = Option(
    "vote_rules",
    help=f"vote rules (default: {','.join(VOTE_RULES)})",
    known=lambda: VOTE_RULES,
)


@parameter_group("vote", order=20, help="vote rule (ensembles of two or more)", options=(RULES,))
def vote(trial: TrialLike, space: Space, config: Config) -> None:
    if len(config.members) > 1:
        config.vote_rule = trial.suggest_categorical("vote_rule", space.choices["vote_rules"])
