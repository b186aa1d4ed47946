"""Choosing what people label next: the strategies (pure functions over scored candidates) and
the replay that measures them with simulated annotators."""
