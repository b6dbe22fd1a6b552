import Testing
@testable import LLMTraceHTTP

/// What tracectl makes of a server's answer. A bad or hostile server gets an error naming it,
/// never a trap (negative and oversized chunk sizes and lengths once were).
@Suite struct HTTPClientTests {
    func parse(_ s: String) throws -> HTTPClient.Response { try HTTPClient.parse(Array(s.utf8), from: "server") }

    @Test func chunkedAndLengthBodies() throws {
        #expect(try parse("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").body == Array("abcde".utf8))
        #expect(try parse("HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\nnoEXTRA").body == Array("no".utf8))
    }

    @Test(arguments: [
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n-5\r\nabc\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n7fffffffffffffff\r\nabc\r\n",
        "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nabc\r\n",
        "HTTP/1.1 200 OK\r\ncontent-length: -3\r\n\r\nabc",
        "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc",
        "HTTP/1.1\r\n\r\n",
        "\r\n\r\n",
        "abc",
    ])
    func aBadAnswerIsAnError(_ answer: String) {
        #expect(throws: HTTPClient.Failure.self) { try parse(answer) }
    }
}
