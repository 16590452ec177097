"""The one kind of error an operator fixes: `twofa` prints its message as one line, exit 2.

Every such error says what happened and what to do (a wrong setting, a missing
or too open file, a keyring that does not fit the store). Errors of the API's
callers are core/errors.py's; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class OperatorError(Exception):
    """Something the operator can fix; the message says what happened and what to do."""
