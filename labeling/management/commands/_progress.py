"""A tqdm progress bar for commands, on stderr so stdout stays clean for data."""
import sys

from tqdm import tqdm


class Progress:
    def __init__(self, desc: str, unit: str = "rec", disable: bool = False):
        self.bar = tqdm(desc=desc, unit=unit, file=sys.stderr, disable=disable, dynamic_ncols=True)

    def __call__(self, n: int) -> None:
        self.bar.update(n - self.bar.n)

    def close(self) -> None:
        self.bar.close()
