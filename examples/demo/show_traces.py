"""Prints the traces the local collector holds, as indented span trees."""

import json
import sys
import urllib.request

BASE = sys.argv[1] if len(sys.argv) > 1 else 'http://127.0.0.1:12800'


def get(path: str):
    with urllib.request.urlopen(BASE + path, timeout=10) as response:
        return json.load(response)


def print_trace(trace_id: str) -> None:
    detail = get(f'/api/traces/{trace_id}')
    print(f'trace {trace_id}  {detail.get("endpoint", "")}  {detail.get("duration", 0)} ms')
    spans = {}
    children = {}
    roots = []
    for segment in detail['segments']:
        for span in segment['spans']:
            key = (segment['segmentId'], span['spanId'])
            spans[key] = (segment, span)
            if span['parentSpanId'] >= 0:
                children.setdefault((segment['segmentId'], span['parentSpanId']), []).append(key)
            else:
                parents = [(r['parentTraceSegmentId'], r['parentSpanId']) for r in span.get('refs', [])]
                known = [p for p in parents if p in spans or any(p[0] == s['segmentId'] for s in detail['segments'])]
                if known:
                    children.setdefault(known[0], []).append(key)
                else:
                    roots.append(key)

    def walk(key, depth):
        segment, span = spans[key]
        flag = '  ERROR' if span['isError'] else ''
        tags = ', '.join(f'{t["key"]}={t["value"]}' for t in span.get('tags', []))
        duration = span['endTime'] - span['startTime']
        print(
            f'  {"  " * depth}{span["spanType"]:<5} {span["operationName"]:<28} {segment["service"]:<14}'
            f' {duration:>4} ms  {tags}{flag}'
        )
        for child in sorted(children.get(key, []), key=lambda k: spans[k][1]['startTime']):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)


def main() -> None:
    traces = get('/api/traces?limit=20')
    if not traces:
        print('no traces received yet')
        return
    for trace in traces:
        print_trace(trace['traceId'])
        print()


main()
