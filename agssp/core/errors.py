"""The one error type for an input file that cannot be used: it names the file and the problem."""


class InputFileError(ValueError):
    """``<path>: <reason>``; ``path`` and ``reason`` stay readable for skip lists and reports.

    Each stage names its own kind (a map, an image, a label file) as a subclass, so callers can
    catch one kind, or every bad input at once.
    """

    def __init__(self, path, reason):
        super().__init__(f'{path}: {reason}')
        self.path, self.reason = str(path), reason
