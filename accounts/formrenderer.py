"""How every Django form of the product is drawn: one field layout in one place.

Each field is its label, then the control with any error beside it, then
the help text under it (templates/forms/field.html). Forms written as
{{ form }} or {{ form.field.as_field_group }} get it without more markup.
"""

from __future__ import annotations

from django.forms.renderers import TemplatesSetting


class Renderer(TemplatesSetting):
    # TemplatesSetting finds the templates with the project's own engine, so
    # templates/forms/ is searched (and Django's widgets, from django.forms).
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
