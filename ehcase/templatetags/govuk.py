"""`{% govuk_field form.name %}` renders a bound field as a GOV.UK form group."""

from __future__ import annotations

import datetime as dt

from django import forms, template
from django.template.loader import render_to_string

from ehcase.govuk_forms import GovukDateField

register = template.Library()


def _kind(field: forms.Field) -> str:
    widget = field.widget
    if isinstance(field, GovukDateField):
        return "date"
    if isinstance(widget, forms.CheckboxSelectMultiple):
        return "checkboxes"
    if isinstance(widget, forms.RadioSelect):
        return "radios"
    if isinstance(widget, forms.CheckboxInput):
        return "checkbox"
    if isinstance(widget, forms.Select):
        return "select"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    if isinstance(widget, forms.PasswordInput):
        return "password"
    if isinstance(widget, forms.FileInput):
        return "file"
    return "input"


def _date_parts(bound: forms.BoundField) -> list[dict]:
    value = bound.value()
    if isinstance(value, dt.date):
        values = [str(value.day), str(value.month), str(value.year)]
    elif isinstance(value, list | tuple):
        values = [v or "" for v in value] + [""] * (3 - len(value))
    else:
        values = ["", "", ""]
    parts = []
    for (suffix, label, width), part_value in zip(
        (("day", "Day", 2), ("month", "Month", 2), ("year", "Year", 4)), values, strict=True
    ):
        parts.append(
            {
                "name": f"{bound.html_name}_{suffix}",
                "id": f"{bound.auto_id}_{suffix}",
                "label": label,
                "width": width,
                "value": part_value,
                "autocomplete": "",
            }
        )
    return parts


def _choices(bound: forms.BoundField) -> list[dict]:
    value = bound.value()
    if value is None:
        selected = set()
    elif isinstance(value, list | tuple):
        selected = {str(v) for v in value}
    else:
        selected = {str(value)}
    items = []
    for index, (choice_value, choice_label) in enumerate(bound.field.choices):
        choice_value = getattr(choice_value, "value", choice_value)
        if choice_value in ("", None) and _kind(bound.field) != "select":
            continue
        items.append(
            {
                "id": f"{bound.auto_id}_{len(items)}"
                if _kind(bound.field) != "select"
                else f"{bound.auto_id}_{index}",
                "value": "" if choice_value is None else str(choice_value),
                "label": choice_label,
                "checked": str(choice_value) in selected,
            }
        )
    return items


@register.simple_tag
def govuk_field(bound: forms.BoundField, **options) -> str:
    field = bound.field
    kind = _kind(field)
    context = {
        "field": bound,
        "kind": kind,
        "id": bound.auto_id,
        "name": bound.html_name,
        "label": options.get("label", bound.label),
        "hint": options.get("hint", field.help_text),
        "errors": bound.errors,
        "required": field.required,
        "classes": options.get("classes", ""),
        "autocomplete": options.get("autocomplete", field.widget.attrs.get("autocomplete", "")),
        # GOV.UK asks for text inputs with a numeric keyboard rather than type="number".
        "input_type": options.get("type", "text" if isinstance(field.widget, forms.NumberInput)
                                  else getattr(field.widget, "input_type", "text")),
        "inputmode": "numeric" if isinstance(field.widget, forms.NumberInput) else "",
        "label_size": options.get("label_size", ""),
        "inline": options.get("inline", False),
        "spellcheck": options.get("spellcheck", None),
    }
    if kind == "date":
        context["parts"] = _date_parts(bound)
    elif kind in ("radios", "checkboxes", "select"):
        context["choices"] = _choices(bound)
    elif kind == "checkbox":
        context["checked"] = bool(bound.value())
    else:
        value = bound.value()
        context["value"] = "" if value is None else str(value)
    return render_to_string("components/field.html", context)


@register.inclusion_tag("components/error_summary.html")
def govuk_error_summary(*forms_):
    items = []
    for form in forms_:
        if form is not None and form.is_bound and form.errors:
            items.extend(form.error_summary())
    return {"items": items}


@register.filter
def code_label(value, mapping_name: str):
    from ehcase import codes

    mapping = getattr(codes, mapping_name)
    if isinstance(value, list | tuple):
        return ", ".join(mapping.get(v, v) for v in value)
    return mapping.get(value, value)


@register.filter
def get_field(form, name: str):
    return form[name]


@register.simple_tag
def distance_travelled_chart(progress):
    from pathway.charts import distance_travelled_svg

    return distance_travelled_svg(progress)
