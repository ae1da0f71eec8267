"""Atlas pages: parse the input, call one service or the selectors, render."""
