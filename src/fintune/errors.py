"""The one exception type that means "the user gave us something we cannot use".

The command line turns it into exit code 2 and a single line on stderr; anything else
is a bug and keeps its traceback (exit code 1).
"""


class FintuneError(Exception):
    """Bad input or configuration; the message names the file, field or row."""
