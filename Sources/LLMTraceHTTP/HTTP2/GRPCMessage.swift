/// gRPC over HTTP/2 (the gRPC protocol's "Length-Prefixed-Message"): each message is a compressed
/// flag, a 4-octet big-endian length and the bytes; with the flag set they are compressed with the
/// call's `grpc-encoding` (gzip or deflate here; identity needs no flag). A call's outcome is the
/// `grpc-status` and `grpc-message` trailers.
public enum GRPCMessage {
    /// gRPC status codes used here.
    public enum Status: Int, Sendable {
        case ok = 0, cancelled = 1, unknown = 2, invalidArgument = 3, deadlineExceeded = 4, notFound = 5, permissionDenied = 7,
             resourceExhausted = 8, unimplemented = 12, internalError = 13, unavailable = 14, unauthenticated = 16
    }

    /// Why a request's messages cannot be read, as the status to answer with.
    public struct Failure: Error, Sendable, Equatable {
        public var status: Status
        public var message: String
        public init(_ status: Status, _ message: String) {
            self.status = status
            self.message = message
        }
    }

    /// The messages of a request body, decompressed (at most `limit` octets each once decoded).
    public static func messages(_ body: [UInt8], encoding: String?, limit: Int) throws(Failure) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while i < body.count {
            guard body.count - i >= 5 else { throw Failure(.internalError, "a message prefix cut short (\(body.count - i) of 5 octets)") }
            let flag = body[i]
            let length = Int(body[i + 1]) << 24 | Int(body[i + 2]) << 16 | Int(body[i + 3]) << 8 | Int(body[i + 4])
            i += 5
            guard flag <= 1 else { throw Failure(.internalError, "a message flag of \(flag) (0 or 1)") }
            guard length <= body.count - i else { throw Failure(.internalError, "a message of \(length) octets with \(body.count - i) left in the request") }
            let bytes = Array(body[i..<(i + length)])
            i += length
            guard flag == 1 else {
                guard length <= limit else { throw Failure(.resourceExhausted, "a message of \(length) octets (limit \(limit))") }
                out.append(bytes)
                continue
            }
            let enc = (encoding ?? "identity").lowercased()
            let windowBits: Int32
            switch enc {
            case "gzip": windowBits = 15 + 16
            case "deflate": windowBits = 15
            default: throw Failure(.unimplemented, "a compressed message with grpc-encoding '\(enc)' (gzip, deflate or identity)")
            }
            do {
                out.append(try BodyDecoding.inflate(bytes, windowBits: windowBits, limit: limit, name: enc))
            } catch {
                throw Failure(error.status == 413 ? .resourceExhausted : .internalError, "\(enc) message: \(error.message)")
            }
        }
        return out
    }

    /// One message framed (uncompressed).
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        let n = message.count
        return [0, UInt8(n >> 24 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)] + message
    }

    /// `grpc-message` as the protocol writes it: percent-encoded outside printable ASCII.
    public static func percentEncoded(_ s: String) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in s.utf8 {
            if b >= 0x20 && b <= 0x7E && b != UInt8(ascii: "%") { out.append(b) } else { out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 15)]] }
        }
        return out
    }
}
