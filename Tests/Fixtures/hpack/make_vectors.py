"""Writes vectors.json: header lists encoded by the Python `hpack` package (pip install hpack), a
peer implementation of RFC 7541, for HPACKTests to decode. Each case is a sequence of header blocks
on one connection (the dynamic table carries over), with the encoder's settings.

usage: python3 Tests/Fixtures/hpack/make_vectors.py > Tests/Fixtures/hpack/vectors.json
"""
import json
import random

import hpack


def case(name, blocks, huffman=True, table_size=None):
    e = hpack.Encoder()
    if table_size is not None:
        e.header_table_size = table_size
    out = []
    for headers in blocks:
        data = e.encode(headers, huffman=huffman)
        out.append({"hex": data.hex(), "headers": [[n.hex() if isinstance(n, bytes) else n.encode().hex(),
                                                    v.hex() if isinstance(v, bytes) else v.encode().hex(),
                                                    sensitive] for n, v, sensitive in norm(headers)]})
    return {"name": name, "table_size": table_size or 4096, "blocks": out}


def norm(headers):
    for h in headers:
        if isinstance(h, hpack.NeverIndexedHeaderTuple):
            yield h[0], h[1], True
        else:
            yield h[0], h[1], False


rfc_requests = [
    [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com")],
    [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "www.example.com"), ("cache-control", "no-cache")],
    [(":method", "GET"), (":scheme", "https"), (":path", "/index.html"), (":authority", "www.example.com"), ("custom-key", "custom-value")],
]
rfc_responses = [
    [(":status", "302"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")],
    [(":status", "307"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:21 GMT"), ("location", "https://www.example.com")],
    [(":status", "200"), ("cache-control", "private"), ("date", "Mon, 21 Oct 2013 20:13:22 GMT"), ("location", "https://www.example.com"),
     ("content-encoding", "gzip"), ("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1")],
]
grpc = [[(":method", "POST"), (":scheme", "http"), (":path", "/opentelemetry.proto.collector.trace.v1.TraceService/Export"),
         (":authority", "127.0.0.1:4317"), ("te", "trailers"), ("content-type", "application/grpc"), ("grpc-encoding", "gzip"),
         ("grpc-accept-encoding", "identity,deflate,gzip"), ("user-agent", "grpc-python/1.68.0 grpc-c/44.0.0 (linux; chttp2)"),
         hpack.NeverIndexedHeaderTuple("authorization", "Bearer lt_ingest_0123456789abcdef")] for _ in range(3)]
rng = random.Random(7)
binary = [[("x-bin-%d" % i, bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40))).hex()),
           ("x-utf8", "日本語 ünïcödé ✓"), ("x-empty", "")] for i in range(20)]
cases = [
    case("rfc7541 C.3 requests, no Huffman", rfc_requests, huffman=False),
    case("rfc7541 C.4 requests, Huffman", rfc_requests),
    case("rfc7541 C.5 responses, 256-octet table, no Huffman", rfc_responses, huffman=False, table_size=256),
    case("rfc7541 C.6 responses, 256-octet table, Huffman", rfc_responses, table_size=256),
    case("OTLP gRPC export, three calls on one connection", grpc),
    case("random values, UTF-8 and empty, evictions", binary, table_size=200),
]
print(json.dumps({"generator": "python hpack %s" % hpack.__version__, "cases": cases}, indent=1))
