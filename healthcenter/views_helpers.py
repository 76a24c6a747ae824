"""Small helpers shared by the apps' views."""

from django.core.exceptions import ValidationError
from django.forms import CheckboxInput, Form, Select


def apply_errors(form: Form, error: ValidationError) -> None:
    """Puts a service's ValidationError on the form: on the named field when the form has it,
    otherwise at the top of the form, so that no message is lost."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


class StyledForm(Form):
    """Gives every widget the Bootstrap class it needs, so templates can render fields plainly."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_fields()

    def style_fields(self) -> None:
        """Also called by forms that add fields after construction."""
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, Select):
                css = "form-select"
            else:
                css = "form-control"
            if css not in widget.attrs.get("class", ""):
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()
