#!/usr/bin/env python3
"""A local DynamoDB API for tests: moto's server, with each request handled atomically.

DynamoDB applies a conditional write or a transaction atomically with respect to every other
request. moto's own server runs requests on parallel threads without a lock, so two conditional
writes racing for one item can both pass their condition (seen here: 3 of 20 concurrent
registrations of one email succeeded). Serialising request handling restores DynamoDB's
guarantee without changing anything else; connections are still accepted concurrently.

Usage: dynamodb_server.py [-H HOST] [-p PORT]
"""
import argparse
import threading

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import run_simple


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=8000)
    args = parser.parse_args()

    backend = DomainDispatcherApplication(create_backend_app)
    one_at_a_time = threading.Lock()

    def atomic_app(environ, start_response):
        with one_at_a_time:
            # Materialise the body inside the lock: the request is done when it is released.
            return list(backend(environ, start_response))

    run_simple(args.host, args.port, atomic_app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
