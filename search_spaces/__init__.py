"""Search spaces: YAML declarations of what a search may try, and the loader that validates them.

    from qnas.search_spaces import load_space
    space = load_space("classification")            # or a path: load_space("my_space.yaml")
    spec = space.sample(trial)                      # an optuna.Trial, define-by-run
    spec = space.decode(trial.params)               # the same candidate from plain values

The declaration schema is documented at the top of `space.py`.
"""

from qnas.search_spaces.loading import DEFAULT_SPACES, SPACE_NAMES, load_space, parse_space
from qnas.search_spaces.params import Param
from qnas.search_spaces.space import TASK_KINDS, SearchSpace

__all__ = ["DEFAULT_SPACES", "SPACE_NAMES", "TASK_KINDS", "Param", "SearchSpace", "load_space", "parse_space"]
