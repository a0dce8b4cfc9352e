"""Search parameter groups, one file each; every module here is imported and registers itself
in PARAMETERS: members (method and bit-set), vote rule, schedule (and cascade order), compute
unit (and its family's parameters), and any group added beside them."""

from codesign.registry import import_all

import_all(__name__)
