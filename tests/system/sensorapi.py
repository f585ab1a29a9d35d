# SPDX-License-Identifier: MIT
# Sensor tokens and batches as the tests hand them to a running nameplated:
# `nameplatectl sensor add` and POST /api/v1/sensor/batch.

import http.client
import json
import time


def add_sensor(np, name="s1"):
    """Adds sensor name; returns its NAME:SECRET token (printed once)."""
    r = np.ctl("sensor", "add", name)
    tokens = [w for w in r.stdout.split() if w.startswith(name + ":")]
    assert tokens, "sensor add printed no NAME:SECRET token:\n" + r.stdout
    return tokens[-1]


def post(np, body, token=None, headers=None, path="/api/v1/sensor/batch", chunked=False):
    """POSTs body (text or bytes); returns (status, response text)."""
    h = {"Content-Type": "application/json"}
    if token is not None:
        h["Authorization"] = "Bearer " + token
    h.update(headers or {})
    c = http.client.HTTPConnection("127.0.0.1", np.http_port, timeout=10)
    try:
        data = body.encode() if isinstance(body, str) else body
        if chunked:
            c.putrequest("POST", path)
            for k, v in h.items():
                c.putheader(k, v)
            c.putheader("Transfer-Encoding", "chunked")
            c.endheaders()
            for i in range(0, len(data), 1000):
                part = data[i:i + 1000]
                c.send(b"%x\r\n%s\r\n" % (len(part), part))
            c.send(b"0\r\n\r\n")
        else:
            c.request("POST", path, body=data, headers=h)
        r = c.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        c.close()


def batch(bid, events):
    return json.dumps({"batch": bid, "events": events})


def syn(src, port=23, t=None, n=None):
    """A mirai_syn event from src (now, unless t is given; n of them when given)."""
    e = {"src": src, "t": int(t if t is not None else time.time()), "kind": "mirai_syn",
         "proto": 6, "port": port}
    if n is not None:
        e["n"] = n
    return e
