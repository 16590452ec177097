"""Demo only: the mail twofa sent, as the local SMTP catcher received it."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue

from .mail_catcher import read_messages
from .web import panel

bp = Blueprint("mailbox", __name__)


@bp.get("/mailbox")
def inbox() -> ResponseReturnValue:
    folder = panel().settings.mailbox_dir
    if folder is None:  # a real deployment sends real mail: there is no such page
        abort(404)
    return render_template("mailbox.html", messages=read_messages(folder)[:50])
