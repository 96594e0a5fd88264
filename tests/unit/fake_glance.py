"""A stand-in for openstacksdk's image proxy, for unit tests of imgsync's Glance calls."""

import hashlib
import json
import re
import urllib.parse


class Response:
    def __init__(self, status_code, body=None):
        self.status_code = status_code
        self._body = body if body is not None else {}
        self.text = json.dumps(self._body) if not isinstance(body, str) else body

    def json(self):
        return self._body


class Download(Response):
    """A streamed answer to ``GET /images/{id}/file``: counts the bytes the client took
    and whether it closed the answer."""

    def __init__(self, status_code, data, headers):
        super().__init__(status_code, "")
        self.data, self.headers = data, headers
        self.taken, self.closed = 0, False

    def iter_content(self, chunk_size):
        for start in range(0, len(self.data), chunk_size):
            chunk = self.data[start:start + chunk_size]
            self.taken += len(chunk)
            yield chunk

    def close(self):
        self.closed = True


class FakeProxy:
    """Answers imgsync's Glance v2 requests from a dict of images; ``refuse`` maps a
    ``(method, path regex)`` to the status and text Glance should answer instead."""

    def __init__(self, images=(), project_id="imgsync-project"):
        self.images = {image["id"]: dict(image) for image in images}
        self.project_id = project_id
        self.calls = []
        self.received = {}
        """Image id to the bytes an upload delivered (as far as it got)."""
        self.refuse = {}
        self.used_ids = set(self.images)
        self._next = 0
        self.data = {}
        """Image id to the data Glance stores (and serves from GET /file)."""
        self.downloads = []
        """Each Download answered, in order."""

    def get_endpoint(self):
        return "http://glance.test/v2/"

    def get_project_id(self):
        return self.project_id

    def request(self, path, method, json=None, **kwargs):
        self.calls.append((method, path, json))
        for (refused_method, pattern), (status, text) in self.refuse.items():
            if method == refused_method and re.search(pattern, path):
                return Response(status, text)
        parts = urllib.parse.urlsplit(path)
        if method == "GET" and parts.path == "/images":
            return self._list(dict(urllib.parse.parse_qsl(parts.query)))
        if method == "POST" and parts.path == "/images":
            self._next += 1
            image_id = json.get("id") or f"new-{self._next}"
            if image_id in self.used_ids:   # Glance never reuses an id, even once deleted
                return Response(409, f"Image with identifier {image_id} already exists!")
            self.used_ids.add(image_id)
            image = {**json, "id": image_id, "owner": self.project_id, "status": "queued"}
            self.images[image["id"]] = image
            return Response(201, image)
        if method == "GET" and parts.path == "/info/import":
            return Response(200, {"import-methods": {"value": ["glance-direct",
                                                               "web-download"]}})
        image_id = parts.path.split("/")[2]
        if method == "PUT":
            return self._receive(image_id, parts.path.endswith("/stage"), kwargs["data"])
        if method == "POST" and parts.path.endswith("/import"):
            return self._import(image_id, json["method"])
        if method == "GET" and parts.path.endswith("/file"):
            return self._download(image_id, kwargs["headers"].get("Range"))
        if method == "GET":
            if image_id not in self.images:
                return Response(404, f"No image found with ID {image_id}")
            return Response(200, self.images[image_id])
        if method == "PATCH":
            for op in json:
                key = op["path"].lstrip("/")
                if op["op"] == "remove":
                    self.images[image_id].pop(key)
                else:
                    self.images[image_id][key] = op["value"]
            return Response(200, self.images[image_id])
        if method == "DELETE":
            self.images.pop(image_id)
            self.data.pop(image_id, None)
            return Response(204)
        raise AssertionError(f"unexpected request {method} {path}")

    def _receive(self, image_id, stage, body):
        """Consume an upload as Glance would: every chunk, until the body ends or fails."""
        image = self.images[image_id]
        self.received[image_id] = b""
        for chunk in body:   # an exception here is the client's: it propagates
            self.received[image_id] += chunk
        if not stage:
            self._store(image, self.stored(self.received[image_id]))
        return Response(204)

    def _import(self, image_id, method):
        image = self.images[image_id]
        data = self.web_data if method["name"] == "web-download" else self.received[image_id]
        self._store(image, self.stored(data))
        image["disk_format"] = self.converts_to or image["disk_format"]
        return Response(202)

    def _store(self, image, data):
        self.data[image["id"]] = data
        image.update({"status": "active", "size": len(data), "os_hash_algo": self.hash_algo,
                      "os_hash_value": hashlib.new(self.hash_algo, data).hexdigest()})

    def _download(self, image_id, asked):
        """The image's data, or the range ``bytes=0-N`` of it when ``honours_range``."""
        data = self.served(self.data[image_id])
        found = re.fullmatch(r"bytes=0-(\d+)", asked or "")
        if found and self.honours_range:
            part = data[:int(found.group(1)) + 1]
            download = Download(206, part, {"Content-Range": self.content_range(part, data)})
        else:
            download = Download(200, data, {})
        self.downloads.append(download)
        return download

    @staticmethod
    def content_range(part, data):
        """The Content-Range of a ranged answer (a test may make Glance send another)."""
        return f"bytes 0-{len(part) - 1}/{len(data)}"

    honours_range = True
    served = staticmethod(lambda data: data)
    """What Glance's GET /file serves of the data it stores (a test may cut it short)."""
    converts_to = None
    """The disk format an import plugin converts imported data to (with ``stored``)."""
    stored = staticmethod(lambda data: data)
    """What Glance keeps of the data it received (a test may make it change them)."""
    hash_algo = "sha512"
    web_data = b""

    def _list(self, query):
        hidden = query.pop("os_hidden") == "true"
        for key in ("visibility", "limit"):
            query.pop(key)
        found = [image for image in self.images.values()
                 if bool(image.get("os_hidden")) == hidden
                 and all(image.get(key) == value for key, value in query.items())]
        return Response(200, {"images": found})
