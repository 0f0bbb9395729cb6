"""W6's gRPC downstream: a plain grpc.server answering /bench.Downstream/Call (bytes in and
out, no generated code) with a short body. Runs without any agent.

Usage: python grpc_downstream.py PORT  (prints ``ready`` once listening)
"""

import sys
from concurrent.futures import ThreadPoolExecutor

import grpc


def call(request: bytes, context: grpc.ServicerContext) -> bytes:
    return b'ok'


def main() -> None:
    handler = grpc.method_handlers_generic_handler(
        'bench.Downstream', {'Call': grpc.unary_unary_rpc_method_handler(call)}
    )
    server = grpc.server(ThreadPoolExecutor(4), handlers=(handler,))
    server.add_insecure_port(f'127.0.0.1:{sys.argv[1]}')
    server.start()
    print('ready', flush=True)
    server.wait_for_termination()


if __name__ == '__main__':
    main()
