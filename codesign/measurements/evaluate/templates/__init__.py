"""Prompt templates: how a suite's chat messages become the text a model is sent.

One file per template, registered by name in ``TEMPLATES``: ``model`` (the model's own chat
template) and ``comptrust`` (the conversation templates of comp-trust's DecodingTrust fork).
"""

from codesign.measurements.evaluate.templates.base import (
    TEMPLATES,
    PromptTemplate,
    check_chat_api,
    choose_template,
)
from codesign.registry import import_all

import_all(__name__)

__all__ = ["TEMPLATES", "PromptTemplate", "check_chat_api", "choose_template"]
