"""Search parameter groups; importing this package registers every one of them in PARAMETERS.

Each module is one group: members (method and bit-set), vote rule, schedule (and cascade
order), compute unit (and its family's parameters).
"""

from codesign.search.parameters import (  # noqa: F401 - imported to register
    members,
    schedule,
    unit,
    vote,
)
