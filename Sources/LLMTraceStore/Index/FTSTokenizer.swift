#if canImport(Glibc)
import Glibc
#endif
import CSQLite
import LLMTraceSupport

/// FTS5's own tokenizer, the one the text index is declared with (`unicode61 remove_diacritics 2`,
/// IndexSchema), called directly through SQLite's `fts5_api`: the terms a paragraph is indexed
/// under and a query word is looked up by are exactly FTS5's (case folding, diacritics, Unicode
/// separators), so term postings of our own agree with FTS5 by construction rather than by a
/// second implementation of its rules.
///
/// The tokenizer instance keeps a folding buffer, so calls are serialised; paragraphs are
/// tokenized by the full-text thread and queries tokenize a few words.
public final class FTSTokenizer: @unchecked Sendable {
    /// The process's tokenizer; nil when this SQLite lacks FTS5 (term postings are then not
    /// written, and every match goes to FTS5, which would fail the same way).
    public static let shared: FTSTokenizer? = try? FTSTokenizer()

    private let db: OpaquePointer
    private let tokenize: @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, Int32,
                                          (@convention(c) (UnsafeMutableRawPointer?, Int32, UnsafePointer<CChar>?, Int32, Int32, Int32) -> Int32)?) -> Int32
    private let delete: @convention(c) (OpaquePointer?) -> Void
    private let instance: OpaquePointer
    private let lock = Condition()

    init() throws {
        var handle: OpaquePointer?
        guard sqlite3_open_v2(":memory:", &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK, let handle else {
            throw StoreError("cannot open an in-memory SQLite database for FTS5's tokenizer")
        }
        db = handle
        func fail(_ what: String) -> StoreError {
            sqlite3_close(handle)
            return StoreError("FTS5's tokenizer is not available: \(what)")
        }
        // SELECT fts5(?1) with a pointer bound as "fts5_api_ptr" hands out the API (SQLite's
        // documented way; the type string must outlive the statement).
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(handle, "SELECT fts5(?1)", -1, &stmt, nil) == SQLITE_OK, let stmt else { throw fail("no fts5() function") }
        let apiSlot = UnsafeMutablePointer<UnsafeMutablePointer<fts5_api>?>.allocate(capacity: 1)
        apiSlot.initialize(to: nil)
        let typeName = strdup("fts5_api_ptr")
        defer { apiSlot.deallocate(); free(typeName) }
        sqlite3_bind_pointer(stmt, 1, apiSlot, typeName, nil)
        _ = sqlite3_step(stmt)
        sqlite3_finalize(stmt)
        guard let api = apiSlot.pointee, api.pointee.iVersion >= 2, let find = api.pointee.xFindTokenizer else { throw fail("no fts5_api") }
        var context: UnsafeMutableRawPointer?
        var methods = fts5_tokenizer()
        guard find(api, "unicode61", &context, &methods) == SQLITE_OK,
              let create = methods.xCreate, let tokenize = methods.xTokenize, let delete = methods.xDelete else { throw fail("no unicode61 tokenizer") }
        var args: [UnsafePointer<CChar>?] = [UnsafePointer(strdup("remove_diacritics")), UnsafePointer(strdup("2"))]
        defer { for a in args { free(UnsafeMutablePointer(mutating: a)) } }
        var instance: OpaquePointer?
        let rc = args.withUnsafeMutableBufferPointer { create(context, $0.baseAddress, 2, &instance) }
        guard rc == SQLITE_OK, let instance else { throw fail("unicode61 did not start (code \(rc))") }
        self.tokenize = tokenize
        self.delete = delete
        self.instance = instance
    }

    deinit {
        delete(instance)
        sqlite3_close(db)
    }

    /// Calls `body` with each term of `text` (UTF-8), in order, repeats included. The term's bytes
    /// are valid only during the call.
    public func forEachTerm(_ text: UnsafeRawBufferPointer, query: Bool = false, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard text.count > 0 else { return }
        withoutActuallyEscaping(body) { body in
            var sink = body
            withUnsafeMutablePointer(to: &sink) { ctx in
                lock.withLock {
                    _ = tokenize(instance, UnsafeMutableRawPointer(ctx), query ? FTS5_TOKENIZE_QUERY : FTS5_TOKENIZE_DOCUMENT,
                                 text.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(text.count)) { ctx, _, token, n, _, _ in
                        guard let ctx, let token, n >= 0 else { return SQLITE_OK }
                        let sink = ctx.assumingMemoryBound(to: ((UnsafeRawBufferPointer) -> Void).self)
                        sink.pointee(UnsafeRawBufferPointer(start: token, count: Int(n)))
                        return SQLITE_OK
                    }
                }
            }
        }
    }

    /// The terms of `text`, in order, repeats included.
    public func terms(_ text: String, query: Bool = false) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { forEachTerm(UnsafeRawBufferPointer($0), query: query) { out.append(Array($0)) } }
        return out
    }
}
