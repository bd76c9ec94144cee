"""A small HTTP server standing in for another system (a department's, the 12345 platform): it accepts
POSTs and de-duplicates them by `Idempotency-Key`, as a well-behaved receiver does. It counts every request
it saw, so a test can tell delivered-once (unique keys) from sent-twice (requests > unique keys).

A request cut off mid-body (the sender killed while sending) is not counted: nothing arrived.
`mode` makes it misbehave: "ok" answers 200, "fail" answers 500, "refuse" answers 400, "hang" never answers
within the sender's timeout. `delay` slows every answer. `fail_first`: the first N requests are answered 500
whatever the mode (a platform that is down for a while). The headers and raw bytes of each key's first
accepted request are kept (`headers`, `raw`), so a test can check a signature."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    def __init__(self, mode: str = "ok", delay: float = 0.0, fail_first: int = 0):
        self.mode = mode
        self.delay = delay
        self.fail_first = fail_first
        self.headers: dict[str, dict] = {}
        self.raw: dict[str, bytes] = {}
        self.lock = threading.Lock()
        self.requests = 0
        self.first_seen: dict[str, float] = {}  # key -> time.time() of its first arrival
        self.bodies: dict[str, dict] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers offer

            def do_POST(self):  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                key = self.headers.get("Idempotency-Key", "")
                try:
                    parsed = json.loads(body or b"{}")
                except ValueError:
                    parsed = None
                if len(body) < length or parsed is None:
                    # The sender died mid-request (a killed relay): nothing arrived, as a real receiver would
                    # see it. Recording the key here would swallow the retry with the whole body.
                    self.close_connection = True
                    return
                if receiver.delay:
                    time.sleep(receiver.delay)
                if receiver.mode == "hang":
                    time.sleep(3)
                with receiver.lock:
                    receiver.requests += 1
                    failing = receiver.requests <= receiver.fail_first
                    ok = receiver.mode == "ok" and not failing
                    if ok and key not in receiver.first_seen:
                        receiver.first_seen[key] = time.time()
                        receiver.bodies[key] = parsed
                        receiver.headers[key] = dict(self.headers.items())
                        receiver.raw[key] = body
                status = 500 if failing else {"ok": 200, "fail": 500, "refuse": 400}.get(receiver.mode, 200)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    @property
    def unique(self) -> int:
        with self.lock:
            return len(self.first_seen)
