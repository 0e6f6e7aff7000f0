"""report_format - how numbers and names are written in the report (one place)."""

import html

DASH = "\u2013"   # shown for a value the data does not have


def esc(text):
    return html.escape(str(text), quote=True)


def name(allocator):
    """An allocator's name in running text."""
    return f"<b>{esc(allocator)}</b>"


def ns(x):
    if x is None:
        return DASH
    if x >= 1000:
        return f"{x:,.0f}"
    if x >= 100:
        return f"{x:.1f}"
    return f"{x:.2f}"


def size(b):
    if b is None:
        return DASH
    for unit, div in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(b) >= div:
            return f"{b / div:.1f} {unit}" if b / div < 100 else f"{b / div:,.0f} {unit}"
    return f"{b:.0f} B"


def ratio(x):
    return DASH if x is None else f"{x:.2f}\u00d7"


def pct(fraction):
    return DASH if fraction is None else f"{fraction * 100:.1f}%"


def count(x):
    return DASH if x is None else f"{x:,.0f}"


def plain(x):
    return DASH if x is None else f"{x:.3g}"


def less(a, b):
    """How much less a is than b, as words: '67% less'."""
    if not b:
        return DASH
    d = (1 - a / b) * 100
    return f"{d:.1f}% less" if abs(d) < 10 else f"{d:.0f}% less"


def more(a, b):
    """How much more a is than b, as words: '12% more' (or 'the same')."""
    if not b:
        return DASH
    d = (a / b - 1) * 100
    text = f"{abs(d):.1f}%" if abs(d) < 10 else f"{abs(d):.0f}%"
    return "the same" if abs(d) < 0.05 else f"{text} more" if d > 0 else f"{text} less"
