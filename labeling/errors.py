class RecordError(ValueError):
    """A record that cannot be imported. `field` is a dotted path inside the record."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"field `{field}`: {message}" if field else message)


class ImportFileError(ValueError):
    """An import that was refused: names the file and the line (or record index)."""

    def __init__(self, path: str, where: str, error: Exception | str):
        self.path, self.where, self.error = path, where, error
        super().__init__(f"{path}:{where}: {error}")
