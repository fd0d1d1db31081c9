"""A scripted Server-Sent Events test server (Python 3 standard library only).

Binds 127.0.0.1 (or another 127.0.0.0/8 address) on an ephemeral port,
optionally with TLS. Each request is recorded (method,
path, headers, body, start and end times) and answered by a script: a
function script(req, index) called with a Request helper and the request's
0-based number. Every wait in a script is bounded and ends early when the
server is stopped, so a test always ends by itself.
"""

import http.server
import threading
import time


class Record:
    def __init__(self, index, method, path, headers, body):
        self.index = index
        self.method = method
        self.path = path
        self.headers = headers  # email.message.Message: case-insensitive
        self.body = body
        self.t_start = time.monotonic()
        self.t_end = None

    def header(self, name):
        return self.headers.get(name)


class Request:
    """What a script uses to answer one request."""

    def __init__(self, handler, record, stop):
        self._h = handler
        self.record = record
        self._stop = stop

    @property
    def last_event_id(self):
        return self.record.header("Last-Event-ID")

    def respond(self, status, headers=(), body=b""):
        """A complete response with a Content-Length."""
        h = self._h
        h.send_response(status)
        for name, value in headers:
            h.send_header(name, value)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Connection", "close")
        h.end_headers()
        if body:
            h.wfile.write(body)
        h.wfile.flush()

    def start_stream(self, content_type="text/event-stream", status=200):
        """Headers of a response whose body ends when the connection does."""
        h = self._h
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.flush()

    def send(self, data):
        """Writes body bytes at once; False when the client has gone."""
        if isinstance(data, str):
            data = data.encode()
        try:
            self._h.wfile.write(data)
            self._h.wfile.flush()
            return True
        except OSError:
            return False

    def event(self, data, id=None, type=None):
        frame = ""
        if type is not None:
            frame += "event: %s\n" % type
        if id is not None:
            frame += "id: %s\n" % id
        for line in data.split("\n"):
            frame += "data: %s\n" % line
        return self.send(frame + "\n")

    def wait(self, seconds):
        """Sleeps up to seconds; returns False if the server is stopping."""
        return not self._stop.wait(seconds)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self):
        srv = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with srv.lock:
            rec = Record(len(srv.records), self.command, self.path,
                         self.headers, body)
            srv.records.append(rec)
        try:
            srv.script(Request(self, rec, srv.stop), rec.index)
        except OSError:
            pass  # the client went away
        finally:
            rec.t_end = time.monotonic()
        self.close_connection = True

    do_GET = _serve
    do_POST = _serve

    def log_message(self, fmt, *args):
        pass


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


class SSEServer:
    """Runs script on a thread pool; use as a context manager."""

    def __init__(self, script, host="127.0.0.1", tls=None):
        """host: the 127.0.0.0/8 address to bind; tls: (cert, key) files
        for HTTPS."""
        self.script = script
        self.scheme = "https" if tls else "http"
        self.records = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        assert host.startswith("127.")
        self._httpd = _HTTPServer((host, 0), _Handler)
        if tls:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self._httpd.socket = ctx.wrap_socket(self._httpd.socket,
                                                 server_side=True)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self):
        host, port = self._httpd.server_address[:2]
        return "%s://%s:%d/events" % (self.scheme, host, port)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
        return False
