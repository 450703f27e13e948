"""Templates compiled once per language, with their fixed words already in.

A `{% translate "Sort by" %}` looks its words up again on every render
(about 8 µs: the active language, the catalogue, escaping), and the list
page has some sixty of them. Their text depends only on the language, so
each language gets its own compiled copy of a template, in which every
translation of a literal is plain text. Translations of variables, and
everything else, render as before.
"""

from __future__ import annotations

from typing import Any

from django.template import Context, Node, NodeList, Template
from django.template.base import Origin, VariableNode
from django.template.loaders.base import Loader as BaseLoader
from django.template.loaders.cached import Loader as CachedLoader
from django.templatetags.i18n import TranslateNode
from django.utils import translation
from django.utils.functional import Promise


class Words(Node):
    """What a translation of a literal rendered to, in one language."""

    child_nodelists = ()

    def __init__(self, node: Node) -> None:
        self.token = node.token
        self.origin = node.origin
        self.escaped = node.render(Context(autoescape=True))
        self.raw = node.render(Context(autoescape=False))

    def render(self, context: Context) -> str:
        return self.escaped if context.autoescape else self.raw


def _fixed(node: Node) -> bool:
    """Whether the node prints the same translated text whatever the context."""
    if isinstance(node, TranslateNode):
        expression = node.filter_expression
        return (
            node.asvar is None
            and node.message_context is None
            and not expression.filters
            and expression.var.literal is not None
        )
    if isinstance(node, VariableNode):
        # {{ _("Message") }}: the compiler made the literal a lazy translation.
        expression = node.filter_expression
        return not expression.filters and isinstance(expression.var, Promise)
    return False


def fill_in_words(nodelist: NodeList) -> None:
    """Replace, in place, the translations of literals with their text."""
    for index, node in enumerate(nodelist):
        if _fixed(node):
            nodelist[index] = Words(node)
        elif hasattr(node, "conditions_nodelists"):  # {% if %}, {% elif %}...
            for _condition, inner in node.conditions_nodelists:
                fill_in_words(inner)
        else:
            for name in node.child_nodelists:
                inner = getattr(node, name, None)
                if inner is not None:
                    fill_in_words(inner)


class _Compiler(BaseLoader):
    """Compiles a template, then fills in its words in the active language."""

    def get_template(
        self, template_name: str, skip: list[Origin] | None = None
    ) -> Template:
        template = super().get_template(template_name, skip)
        fill_in_words(template.nodelist)
        return template


class Loader(CachedLoader, _Compiler):
    """Django's cached loader, keeping one compiled copy per language.

    The cached loader's own compile step (its super().get_template) is
    _Compiler's, so a template enters the cache with its words filled in.
    """

    def cache_key(self, template_name: str, skip: Any = None) -> str:
        key = super().cache_key(template_name, skip)
        return f"{translation.get_language()}:{key}"
