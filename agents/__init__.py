"""Proposers: objects that suggest candidates and learn from their results (ask/tell).

The search loop holds one `Proposer` and never knows which kind it is.
"""

from qnas.agents.base import Proposal, Proposer
from qnas.agents.optuna_proposer import SAMPLERS, OptunaProposer, make_sampler

__all__ = ["SAMPLERS", "OptunaProposer", "Proposal", "Proposer", "make_sampler"]
