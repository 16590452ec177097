"""The one kind of error an operator fixes: `twofa` prints its message as one line, exit 2.

Every such error says what happened and what to do (a wrong setting, a missing
or too open file, a keyring that does not fit the store). Errors of the API's
callers are core/errors.py's; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class OperatorError(Exception):
    """Something the operator can fix; the message says what happened and what to do."""

    # The command's exit status: 2, a refusal; the commands that call a running server
    # exit 1 when it cannot be reached or refuses the call (as `twofa health` does).
    exit_status = 2
