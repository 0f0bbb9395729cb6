"""A SkyWalking gRPC backend that accepts everything and keeps nothing: every call of any
service answered with an empty message (which decodes as the default of any reply type), so
that an agent's reporters run as against a live backend without the cost of a real one.
Runs without any agent.

Usage: python sw_sink.py PORT  (prints ``ready`` once listening)
"""

import sys
from concurrent.futures import ThreadPoolExecutor

import grpc

# The client-streaming methods of SkyWalking's protocol (segments, logs, meters, snapshots,
# events); the others are unary.
STREAMING = ('/collect', '/collectBatch', '/collectSnapshot')


def drain(requests, context: grpc.ServicerContext) -> bytes:
    for _ in requests:
        pass
    return b''


def empty(request: bytes, context: grpc.ServicerContext) -> bytes:
    return b''


class AnyMethod(grpc.GenericRpcHandler):
    def service(self, handler_call_details):
        if handler_call_details.method.endswith(STREAMING):
            return grpc.stream_unary_rpc_method_handler(drain)
        return grpc.unary_unary_rpc_method_handler(empty)


def main() -> None:
    server = grpc.server(ThreadPoolExecutor(max_workers=8), handlers=[AnyMethod()])
    server.add_insecure_port(f'127.0.0.1:{sys.argv[1]}')
    server.start()
    print('ready', flush=True)
    server.wait_for_termination()


if __name__ == '__main__':
    main()
