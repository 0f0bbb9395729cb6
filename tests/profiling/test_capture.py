"""Stack capture as the profiler does it (CPython C API), checked on a known stack."""

from skywalking import _core


def outer_frame_for_capture(depth: int, max_depth: int) -> list[str]:
    if depth > 0:
        return outer_frame_for_capture(depth - 1, max_depth)
    return innermost_frame_for_capture(max_depth)


def innermost_frame_for_capture(max_depth: int) -> list[str]:
    return _core.capture_current_stack(max_depth)


def test_signatures_are_outermost_first_in_upstream_format():
    stack = outer_frame_for_capture(3, 500)
    assert stack[-1].startswith(f'{__file__}.innermost_frame_for_capture: ')
    assert stack[-1].rsplit(': ', 1)[1].isdigit()
    names = [s.rsplit('.', 1)[1].split(':')[0] for s in stack]
    assert names[-5:] == ['outer_frame_for_capture'] * 4 + ['innermost_frame_for_capture']
    assert 'test_signatures_are_outermost_first_in_upstream_format' in names


def test_a_deep_stack_is_cut_at_the_outer_end():
    stack = outer_frame_for_capture(50, 10)
    assert len(stack) == 10
    # The frames nearest the running code are kept (upstream drops them instead).
    assert stack[-1].split('.')[-1].startswith('innermost_frame_for_capture: ')
    assert all('outer_frame_for_capture' in s for s in stack[:-1])
