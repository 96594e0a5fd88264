"""A fault-injecting HTTP proxy in front of the real Glance, for tests.

imgsync reaches Glance through it with ``[glance] endpoint_override``. Requests are
forwarded as they come (bodies streamed, chunked or with a length); a fault added with
``fail(method, path_regex, ...)`` answers in Glance's place: a status such as 503 or
413 once the body has been read, or a connection cut after ``cut_after`` body bytes.
"""

import http.client
import http.server
import re
import threading
import urllib.parse

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
               "proxy-authorization", "proxy-authenticate", "content-length"}
TIMEOUT = 120


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_request(self):
        self.server.requests.append((self.command, self.path))
        fault = self.server.take_fault(self.command, self.path)
        if fault and fault.get("stall"):
            self.server.stopping.wait(TIMEOUT)   # read nothing: the client falls behind
            self.close_connection = True
            return
        if fault and fault.get("cut_after") is not None:
            self._read_body(limit=fault["cut_after"])
            self.connection.shutdown(2)
            self.close_connection = True
            return
        if fault:
            self._read_body()
            body = fault.get("text", "").encode()
            self.send_response(fault["status"])
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        self._forward()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_request

    def _body_chunks(self, limit=None):
        """The request body as it arrives (de-chunked), at most ``limit`` bytes."""
        sent = 0
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return
                data = self.rfile.read(size)
                self.rfile.readline()
                sent += len(data)
                yield data
                if limit is not None and sent >= limit:
                    return
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            data = self.rfile.read(min(remaining, 256 * 1024))
            if not data:
                return
            remaining -= len(data)
            sent += len(data)
            yield data
            if limit is not None and sent >= limit:
                return

    def _read_body(self, limit=None):
        for _ in self._body_chunks(limit):
            pass

    def _forward(self):
        target = self.server.target
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=TIMEOUT)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True,
                                skip_accept_encoding=True)
            for key, value in self.headers.items():
                if key.lower() not in HOP_HEADERS:
                    upstream.putheader(key, value)
            chunked = self.headers.get("Transfer-Encoding", "").lower() == "chunked"
            if chunked:
                upstream.putheader("Transfer-Encoding", "chunked")
            elif "Content-Length" in self.headers:
                upstream.putheader("Content-Length", self.headers["Content-Length"])
            upstream.endheaders()
            for data in self._body_chunks():
                upstream.send(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
            if chunked:
                upstream.send(b"0\r\n\r\n")
            response = upstream.getresponse()
            body = response.read()
        except OSError:
            self.close_connection = True
            return
        finally:
            upstream.close()
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in HOP_HEADERS:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.close_connection = True

    def log_message(self, format, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, target):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.target = urllib.parse.urlsplit(target)
        self.requests = []
        self.faults = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def take_fault(self, method, path):
        with self.lock:
            for fault in self.faults:
                if fault["method"] == method and re.search(fault["path"], path):
                    fault["times"] -= 1
                    if fault["times"] == 0:
                        self.faults.remove(fault)
                    return fault
        return None


class GlanceProxy:
    """``url`` forwards to ``target`` (Glance's URL); ``requests`` lists (method, path)."""

    def __init__(self, target):
        self._server = _Server(target)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def requests(self):
        return self._server.requests

    def fail(self, method, path, status=None, text="", cut_after=None, times=1, stall=False):
        """Answer the next ``times`` matching requests with ``status`` (after reading their
        body), cut the connection after ``cut_after`` body bytes, or (``stall``) read
        nothing and answer nothing until the proxy stops (at most TIMEOUT seconds)."""
        with self._server.lock:
            self._server.faults.append({"method": method, "path": path, "status": status,
                                        "text": text, "cut_after": cut_after, "times": times,
                                        "stall": stall})

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
