"""Span classes, as upstream's `skywalking.trace.span`; all are Rust objects.

Spans are context managers: `with context.new_entry_span(op=...) as span:`. Set
`span.layer`, `span.component` and tags inside the `with` block: an entry span resets
them when it starts (upstream behaviour that lets a framework plugin take over the span
a server plugin opened).
"""

from skywalking import _core

Span = _core.Span
EntrySpan = _core.EntrySpan
ExitSpan = _core.ExitSpan
NoopSpan = _core.NoopSpan

__all__ = ['EntrySpan', 'ExitSpan', 'NoopSpan', 'Span']
