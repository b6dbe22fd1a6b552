/// One header field as HPACK carries it: octets, kept as sent (no case folding, no Unicode).
public struct HPACKHeader: Sendable, Equatable {
    public var name: [UInt8]
    public var value: [UInt8]
    /// Sent as "never indexed" (RFC 7541 6.2.3): an intermediary must not index it either.
    public var neverIndexed: Bool

    public init(_ name: [UInt8], _ value: [UInt8], neverIndexed: Bool = false) {
        self.name = name
        self.value = value
        self.neverIndexed = neverIndexed
    }

    public init(_ name: String, _ value: String) {
        self.init(Array(name.utf8), Array(value.utf8))
    }

    /// RFC 7541 4.1: the size an entry counts in the dynamic table.
    var size: Int { name.count + value.count + 32 }
}

/// Why a header block does not decode: a COMPRESSION_ERROR for the connection (RFC 7540 4.3).
public struct HPACKError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}

/// The integer and string primitives of RFC 7541 5.1 and 5.2.
enum HPACKPrimitive {
    /// An integer with an `n`-bit prefix at `bytes[i]` (the bits above the prefix are the caller's).
    static func integer(_ bytes: ArraySlice<UInt8>, _ i: inout Int, prefix n: Int) throws(HPACKError) -> Int {
        guard i < bytes.endIndex else { throw HPACKError("a header block ends inside an integer") }
        let mask = (1 << n) - 1
        var value = Int(bytes[i]) & mask
        i += 1
        guard value == mask else { return value }
        var shift = 0
        while true {
            guard i < bytes.endIndex else { throw HPACKError("a header block ends inside an integer") }
            let b = Int(bytes[i])
            i += 1
            // Four continuation octets (28 bits) are plenty for any size or index here.
            guard shift <= 21 else { throw HPACKError("an integer longer than 4 continuation octets") }
            value += (b & 0x7F) << shift
            shift += 7
            if b & 0x80 == 0 { return value }
        }
    }

    static func appendInteger(_ value: Int, prefix n: Int, flags: UInt8, into out: inout [UInt8]) {
        let mask = (1 << n) - 1
        if value < mask {
            out.append(flags | UInt8(value))
            return
        }
        out.append(flags | UInt8(mask))
        var rest = value - mask
        while rest >= 128 {
            out.append(UInt8(rest & 0x7F) | 0x80)
            rest >>= 7
        }
        out.append(UInt8(rest))
    }

    /// A string literal (H bit and a 7-bit prefix length), Huffman-decoded when so marked; at most
    /// `limit` octets once decoded.
    static func string(_ bytes: ArraySlice<UInt8>, _ i: inout Int, limit: Int) throws(HPACKError) -> [UInt8] {
        guard i < bytes.endIndex else { throw HPACKError("a header block ends before a string") }
        let huffman = bytes[i] & 0x80 != 0
        let length = try integer(bytes, &i, prefix: 7)
        guard length <= bytes.endIndex - i else { throw HPACKError("a string of \(length) octets runs past the header block") }
        let raw = bytes[i..<(i + length)]
        i += length
        guard huffman else {
            guard length <= limit else { throw HPACKError("a header string of \(length) octets (limit \(limit))") }
            return Array(raw)
        }
        // Huffman codes are at least 5 bits: the decoded string is at most 8/5 of the coded one.
        guard length <= limit else { throw HPACKError("a Huffman-coded header string of \(length) octets (limit \(limit))") }
        var out: [UInt8] = []
        out.reserveCapacity(length + length / 2)
        do { try Huffman.decode(raw, into: &out) } catch {
            throw HPACKError(error == .eos ? "EOS inside a Huffman-coded string" : "a Huffman-coded string padded with other than the EOS prefix, or by 8 bits or more")
        }
        guard out.count <= limit else { throw HPACKError("a header string of \(out.count) octets (limit \(limit))") }
        return out
    }

    static func appendString(_ s: [UInt8], into out: inout [UInt8]) {
        let h = Huffman.encodedLength(s)
        if h < s.count {
            appendInteger(h, prefix: 7, flags: 0x80, into: &out)
            Huffman.encode(s, into: &out)
        } else {
            appendInteger(s.count, prefix: 7, flags: 0, into: &out)
            out += s
        }
    }
}

/// The dynamic table (RFC 7541 2.3.2, 4): newest entry first, evicted from the oldest as its size
/// passes the maximum.
struct HPACKDynamicTable {
    private(set) var entries: [HPACKHeader] = []   // oldest first; index 62 is the last
    private(set) var size = 0
    private(set) var maxSize: Int

    init(maxSize: Int) { self.maxSize = maxSize }

    var count: Int { entries.count }

    /// Entry `i` counted from the newest (0).
    subscript(newest i: Int) -> HPACKHeader { entries[entries.count - 1 - i] }

    mutating func setMaxSize(_ m: Int) {
        maxSize = m
        evict(toFit: 0)
    }

    mutating func add(_ h: HPACKHeader) {
        evict(toFit: h.size)
        // An entry larger than the table empties it and is not added (RFC 7541 4.4).
        guard h.size <= maxSize else { return }
        entries.append(HPACKHeader(h.name, h.value))
        size += h.size
    }

    private mutating func evict(toFit extra: Int) {
        var drop = 0
        while size + extra > maxSize, drop < entries.count {
            size -= entries[drop].size
            drop += 1
        }
        if drop > 0 { entries.removeFirst(drop) }
    }
}

/// Decodes header blocks of one connection (its dynamic table lives from block to block).
public struct HPACKDecoder: Sendable {
    var table: HPACKDynamicTable
    /// SETTINGS_HEADER_TABLE_SIZE this side announced: the most a size update may ask for.
    public var maxTableSize: Int
    /// The most a block may decode to (names, values and 32 per field, as
    /// SETTINGS_MAX_HEADER_LIST_SIZE counts them).
    public var maxHeaderListSize: Int

    public init(maxTableSize: Int = 4096, maxHeaderListSize: Int = 65536) {
        table = HPACKDynamicTable(maxSize: maxTableSize)
        self.maxTableSize = maxTableSize
        self.maxHeaderListSize = maxHeaderListSize
    }

    static let staticTable: [HPACKHeader] = HPACKStaticTable.entries.map { HPACKHeader($0.name, $0.value) }

    func entry(_ index: Int) throws(HPACKError) -> HPACKHeader {
        if index >= 1 && index <= 61 { return Self.staticTable[index - 1] }
        let d = index - 62
        guard index > 0, d < table.count else { throw HPACKError("header index \(index) is not in the tables (61 static, \(table.count) dynamic)") }
        return table[newest: d]
    }

    /// The fields of one complete header block (HEADERS and its CONTINUATIONs, joined).
    public mutating func decode(_ block: ArraySlice<UInt8>) throws(HPACKError) -> [HPACKHeader] {
        var out: [HPACKHeader] = []
        var i = block.startIndex, listSize = 0, sawField = false
        while i < block.endIndex {
            let b = block[i]
            var field: HPACKHeader
            if b & 0x80 != 0 {
                // Indexed field.
                let index = try HPACKPrimitive.integer(block, &i, prefix: 7)
                guard index != 0 else { throw HPACKError("header index 0") }
                field = try entry(index)
            } else if b & 0xE0 == 0x20 {
                // Dynamic table size update: only before the first field.
                guard !sawField else { throw HPACKError("a table size update after a header field") }
                let size = try HPACKPrimitive.integer(block, &i, prefix: 5)
                guard size <= maxTableSize else { throw HPACKError("a table size update to \(size), above the \(maxTableSize) allowed") }
                table.setMaxSize(size)
                continue
            } else {
                // Literal: with incremental indexing (01), without (0000), never indexed (0001).
                let indexing = b & 0xC0 == 0x40
                let never = !indexing && b & 0xF0 == 0x10
                let nameIndex = try HPACKPrimitive.integer(block, &i, prefix: indexing ? 6 : 4)
                let room = maxHeaderListSize - listSize
                let name = nameIndex == 0 ? try HPACKPrimitive.string(block, &i, limit: room) : try entry(nameIndex).name
                let value = try HPACKPrimitive.string(block, &i, limit: room)
                field = HPACKHeader(name, value, neverIndexed: never)
                if indexing { table.add(field) }
            }
            sawField = true
            listSize += field.size
            guard listSize <= maxHeaderListSize else { throw HPACKError("the header list passes \(maxHeaderListSize) octets") }
            out.append(field)
        }
        return out
    }
}

/// Encodes header blocks: a field the static table has whole is its index, else a literal without
/// indexing (the name by index when the static table has it); strings Huffman-coded when shorter.
/// No dynamic table is kept, so a peer's table size needs no tracking.
public struct HPACKEncoder: Sendable {
    public init() {}

    static let staticIndex: [[UInt8]: (whole: [[UInt8]: Int], name: Int)] = {
        var out: [[UInt8]: (whole: [[UInt8]: Int], name: Int)] = [:]
        for (i, h) in HPACKDecoder.staticTable.enumerated() {
            var e = out[h.name] ?? (whole: [:], name: i + 1)
            if e.whole[h.value] == nil { e.whole[h.value] = i + 1 }
            out[h.name] = e
        }
        return out
    }()

    public func encode(_ headers: [HPACKHeader], into out: inout [UInt8]) {
        for h in headers {
            let known = Self.staticIndex[h.name]
            if !h.neverIndexed, let index = known?.whole[h.value] {
                HPACKPrimitive.appendInteger(index, prefix: 7, flags: 0x80, into: &out)
                continue
            }
            HPACKPrimitive.appendInteger(known?.name ?? 0, prefix: 4, flags: h.neverIndexed ? 0x10 : 0, into: &out)
            if known == nil { HPACKPrimitive.appendString(h.name, into: &out) }
            HPACKPrimitive.appendString(h.value, into: &out)
        }
    }
}
