"""Security > Advanced > 2FA Policy: the workspace's (twofa tenant's) policy.

twofa checks every value; the page shows its field violations next to the fields.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from twofa_client import Enforcement, Frequency, InvalidArgument, Method, Policy, PolicyFields

from .web import current_user, login_required, panel

bp = Blueprint("policy", __name__, url_prefix="/security")

NUMBER_FIELDS = (
    "trusted_device_days",
    "max_attempts",
    "warn_after_failures",
    "lockout_seconds",
    "email_code_ttl_seconds",
)
METHOD_CHOICES = {"authenticator_app": Method.AUTHENTICATOR_APP, "email": Method.EMAIL}


@bp.route("/policy", methods=["GET", "POST"])
@login_required
def edit() -> ResponseReturnValue:
    twofa, tenant = panel().twofa, current_user().tenant_id
    if request.method == "GET":
        info = twofa.get_policy(tenant)
        return render_template(
            "policy.html", form=_form_of(info.policy), errors={}, is_default=info.is_default
        )
    form = request.form.to_dict()
    form["allowed_methods"] = ",".join(request.form.getlist("allowed_methods"))
    errors, fields = _parse(form)
    if not errors:
        try:
            twofa.update_policy(tenant, **fields)
        except InvalidArgument as invalid:
            # e.g. policy.warn_after_failures "is 6; allowed: 1 to max_attempts (5)"
            for violation in invalid.field_violations:
                name = violation.field.removeprefix("policy.")
                errors.setdefault(name, f"Not accepted: the value {violation.description}.")
        else:
            flash("The 2FA policy is saved. It applies from the next sign-in.", "success")
            return redirect(url_for("policy.edit"))
    return render_template("policy.html", form=form, errors=errors, is_default=False), 400


def _form_of(policy: Policy) -> dict[str, str]:
    """The policy as the form's field values."""
    form = {name: str(getattr(policy, name)) for name in NUMBER_FIELDS}
    form["enforcement"] = policy.enforcement.name.lower()
    form["frequency"] = policy.frequency.name.lower()
    form["warning_text"] = policy.warning_text
    allowed = policy.allowed_methods or tuple(METHOD_CHOICES.values())  # empty means both
    form["allowed_methods"] = ",".join(m.name.lower() for m in allowed)
    return form


def _parse(form: dict[str, str]) -> tuple[dict[str, str], PolicyFields]:
    """The fields for update_policy, and errors for what the panel itself cannot read."""
    errors: dict[str, str] = {}
    numbers = dict.fromkeys(NUMBER_FIELDS, 0)
    for name in NUMBER_FIELDS:
        try:
            numbers[name] = int(form.get(name, ""))
        except ValueError:
            errors[name] = "Enter a whole number."
    methods = [METHOD_CHOICES[m] for m in form["allowed_methods"].split(",") if m in METHOD_CHOICES]
    if not methods:
        errors["allowed_methods"] = "Choose at least one method."
    required = form.get("enforcement") == "required"
    trusted = form.get("frequency") == "trusted_device"
    fields: PolicyFields = {
        "enforcement": Enforcement.REQUIRED if required else Enforcement.OPTIONAL,
        "frequency": Frequency.TRUSTED_DEVICE if trusted else Frequency.EVERY_LOGIN,
        "trusted_device_days": numbers["trusted_device_days"],
        "max_attempts": numbers["max_attempts"],
        "warn_after_failures": numbers["warn_after_failures"],
        "lockout_seconds": numbers["lockout_seconds"],
        "warning_text": form.get("warning_text", "").strip(),
        "email_code_ttl_seconds": numbers["email_code_ttl_seconds"],
        "allowed_methods": methods,
    }
    return errors, fields
