import Testing
@testable import LLMTraceHTTP

@Suite struct HTTPParserTests {
    static let post = Array("POST /v1/traces?x=1&y=a%20b HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\nContent-Length: 11\r\n\r\nhello world".utf8)
    static let chunked = Array("POST /v1/spans HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n".utf8)

    func parseAll(_ bytes: [UInt8], limits: HTTPParser.Limits = .init()) throws -> [HTTPRequest] {
        var p = HTTPParser(limits: limits)
        p.feed(bytes)
        var out: [HTTPRequest] = []
        while let r = try p.next() { out.append(r) }
        return out
    }

    @Test func contentLengthRequest() throws {
        let rs = try parseAll(Self.post)
        #expect(rs.count == 1)
        let r = rs[0]
        #expect(r.method == "POST")
        #expect(r.path == "/v1/traces")
        #expect(r.queryItems == ["x": "1", "y": "a b"])
        #expect(r.header("content-type") == "application/x-protobuf")
        #expect(r.mediaType == "application/x-protobuf")
        #expect(r.body == Array("hello world".utf8))
        #expect(r.keepAlive)
    }

    @Test func chunkedRequestWithExtensionsAndTrailers() throws {
        let rs = try parseAll(Self.chunked)
        #expect(rs.count == 1)
        #expect(rs[0].body == Array("hello world".utf8))
    }

    /// Every split of the stream into two reads yields the same requests.
    @Test(arguments: [post, chunked]) func splitAtEveryByteBoundary(_ bytes: [UInt8]) throws {
        let whole = try parseAll(bytes)
        for cut in 0...bytes.count {
            var p = HTTPParser()
            var got: [HTTPRequest] = []
            p.feed(Array(bytes[..<cut]))
            while let r = try p.next() { got.append(r) }
            p.feed(Array(bytes[cut...]))
            while let r = try p.next() { got.append(r) }
            #expect(got.count == 1, "cut at \(cut)")
            #expect(got.first?.body == whole[0].body, "cut at \(cut)")
            #expect(got.first?.target == whole[0].target, "cut at \(cut)")
            #expect(!p.isMidRequest)
        }
    }

    @Test func byteAtATime() throws {
        var p = HTTPParser()
        var got: [HTTPRequest] = []
        for b in Self.post + Self.chunked {
            p.feed([b])
            while let r = try p.next() { got.append(r) }
        }
        #expect(got.map(\.target) == ["/v1/traces?x=1&y=a%20b", "/v1/spans"])
    }

    @Test func pipelinedRequests() throws {
        let get = Array("GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n".utf8)
        let rs = try parseAll(get + Self.post + Self.chunked + get)
        #expect(rs.map(\.method) == ["GET", "POST", "POST", "GET"])
        #expect(rs[1].body == Array("hello world".utf8))
        #expect(rs[2].body == Array("hello world".utf8))
    }

    @Test func connectionSemantics() throws {
        #expect(try parseAll(Array("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".utf8))[0].keepAlive == false)
        #expect(try parseAll(Array("GET / HTTP/1.0\r\n\r\n".utf8))[0].keepAlive == false)
        #expect(try parseAll(Array("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n".utf8))[0].keepAlive == true)
    }

    @Test func expectContinue() throws {
        var p = HTTPParser()
        p.feed(Array("POST /v1/traces HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n".utf8))
        #expect(try p.next() == nil)
        #expect(p.wantsContinue)
        p.continueSent()
        p.feed(Array("abc".utf8))
        #expect(try p.next()?.body == Array("abc".utf8))
    }

    func expectError(_ s: String, _ status: Int, limits: HTTPParser.Limits = .init(), sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try parseAll(Array(s.utf8), limits: limits)
            Issue.record("accepted: \(s.debugDescription)", sourceLocation: sourceLocation)
        } catch let e as HTTPError {
            #expect(e.status == status, "\(e)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(error)", sourceLocation: sourceLocation)
        }
    }

    /// HTTP/1.1 needs exactly one Host (RFC 9112 3.2); HTTP/1.0 needs none.
    @Test func hostHeader() throws {
        expectError("GET / HTTP/1.1\r\n\r\n", 400)
        expectError("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400)
        #expect(try parseAll(Array("GET / HTTP/1.0\r\n\r\n".utf8)).count == 1)
    }

    /// Lines ended with a bare LF get a 400 at once, whole or fed a byte at a time, instead of a
    /// wait for a CRLF CRLF that never comes.
    @Test func bareLineFeedsAreAnswered() throws {
        for text in ["GET / HTTP/1.1\nHost: x\n\n", "GET / HTTP/1.1\r\nHost: x\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nX: y\n"] {
            expectError(text, 400)
            var p = HTTPParser()
            var status: Int? = nil
            for b in Array(text.utf8) {
                p.feed([b])
                do { _ = try p.next() } catch { status = error.status; break }
            }
            #expect(status == 400, "\(text.debugDescription) byte by byte")
        }
        // A CRLF split between two reads is not a bare LF.
        var p = HTTPParser()
        p.feed(Array("GET / HTTP/1.1\r".utf8))
        #expect(try p.next() == nil)
        p.feed(Array("\nHost: x\r\n\r\n".utf8))
        #expect(try p.next()?.target == "/")
    }

    @Test func refusals() {
        var small = HTTPParser.Limits()
        small.maxHeaderBytes = 100
        small.maxBodyBytes = 10
        expectError("GET / HTTP/1.1\r\nHost: t\r\nX-Big: \(String(repeating: "a", count: 200))\r\n\r\n", 431, limits: small)
        // Headers that never end are refused once over the limit, without waiting for the end.
        expectError("GET / HTTP/1.1\r\nHost: t\r\nX-Big: \(String(repeating: "a", count: 200))", 431, limits: small)
        expectError("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world", 413, limits: small)
        expectError("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n", 413, limits: small)
        expectError("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400)
        expectError("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 400)
        expectError("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400)
        expectError("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", 400)
        expectError("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello", 400)
        expectError("POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 501)
        expectError("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400)
        expectError("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400)
        expectError("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1x\r\n\r\n", 400)
        expectError("GET / HTTP/2.0\r\n\r\n", 505)
        expectError("GET / FOO\r\n\r\n", 400)
        expectError("GET /\r\n\r\n", 400)
        expectError("GET  / HTTP/1.1\r\nHost: t\r\n\r\n", 400)
        expectError("GET nopath HTTP/1.1\r\nHost: t\r\n\r\n", 400)
        expectError("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400)
        expectError("GET / HTTP/1.1\r\nHost: t\r\nHost : h\r\n\r\n", 400)
        expectError("GET / HTTP/1.1\r\nHost: t\r\nX: a\u{01}b\r\n\r\n", 400)
        expectError("GET / HTTP/1.1\r\nHost: t\r\nExpect: something\r\n\r\n", 417)
    }

    @Test func gzipAndDeflateBodies() throws {
        let text = Array(String(repeating: "compressible LLM prompt text ", count: 1000).utf8)
        var r = HTTPRequest(method: "POST", target: "/", headers: [("content-encoding", "gzip")], body: BodyDecoding.gzip(text))
        #expect(try BodyDecoding.decodedBody(r, limit: 1 << 20) == text)
        // The decoded size is capped: a small body cannot inflate past the limit.
        #expect(throws: HTTPError(413, "decoded request body is over the limit of 1000 bytes")) { try BodyDecoding.decodedBody(r, limit: 1000) }
        r.body.removeLast(10)
        #expect(throws: HTTPError.self) { try BodyDecoding.decodedBody(r, limit: 1 << 20) }
        r.headers = [("content-encoding", "br")]
        #expect(throws: HTTPError.self) { try BodyDecoding.decodedBody(r, limit: 1 << 20) }
        r.headers = [("content-encoding", "gzip")]
        r.body = Array("not gzip at all".utf8)
        #expect(throws: HTTPError.self) { try BodyDecoding.decodedBody(r, limit: 1 << 20) }
    }

    /// As the event loop reads: `absorb()` after each piece moves a body into place as it
    /// arrives, so a 1 MB body is never also held whole in the read buffer, and the request, the
    /// pipelined one after it and the errors are those `next()` alone gives.
    @Test func absorbMovesABodyAsItArrives() throws {
        let body = (0..<1_100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let head = Array("POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        let next = Array("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
        let stream = head + body + next
        var limits = HTTPParser.Limits()
        limits.maxBodyBytes = 2 << 20
        var p = HTTPParser(limits: limits)
        var i = 0
        var largestBuffer = 0
        while i < stream.count {
            let n = min(65536, stream.count - i)
            stream[i..<(i + n)].withUnsafeBytes { p.feed($0) }
            p.absorb()
            largestBuffer = max(largestBuffer, p.buffer.count)
            i += n
        }
        #expect(largestBuffer <= 65536 + head.count, "the read buffer held \(largestBuffer) bytes")
        let first = try #require(try p.next())
        #expect(first.method == "POST" && first.body == body)
        let second = try #require(try p.next())
        #expect(second.method == "GET" && second.target == "/healthz")
        #expect(try p.next() == nil)

        // An error absorb() meets is the one next() throws.
        var bad = HTTPParser()
        Array("GET / HTTP/1.1\nHost: x\r\n\r\n".utf8).withUnsafeBytes { bad.feed($0) }
        bad.absorb()
        #expect(throws: HTTPError.self) { try bad.next() }
        var plain = HTTPParser()
        Array("GET / HTTP/1.1\nHost: x\r\n\r\n".utf8).withUnsafeBytes { plain.feed($0) }
        var a: HTTPError?, b: HTTPError?
        do { _ = try bad.next() } catch { a = error }
        do { _ = try plain.next() } catch { b = error }
        #expect(a != nil && a == b)
    }
}
