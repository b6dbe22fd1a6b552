/// HPACK's Huffman coding (RFC 7541, 5.2 and Appendix B). Decoding reads four bits at a time
/// through a table built once from the code: each state is a node of the code tree (256 inner
/// nodes), each of its 16 nibbles says the next state and the symbol completed, if any (codes are 5
/// bits and longer, so a nibble completes at most one). A string may end only at the root or on a
/// path of at most 7 one-bits (the EOS code's prefix, RFC 7541 5.2); EOS itself inside a string is
/// an error.
enum Huffman {
    struct Step {
        var next: UInt8
        /// The symbol completed by this nibble, or -1; 256 (EOS) is refused by the decoder.
        var symbol: Int16
    }

    /// 256 states × 16 nibbles, and per state whether a string may end there.
    static let table: (steps: [Step], accepting: [Bool]) = build()

    static func build() -> (steps: [Step], accepting: [Bool]) {
        // The code tree: inner nodes numbered from 0 (the root); children[node] = (zero, one), each
        // an inner node (>= 0) or a leaf (-1 - symbol).
        var children: [(Int, Int)] = [(Int.min, Int.min)]
        var depth = [0], allOnes = [true]
        for symbol in 0...256 {
            let code = HPACKHuffmanCode.codes[symbol], length = Int(HPACKHuffmanCode.lengths[symbol])
            var node = 0
            for i in stride(from: length - 1, through: 0, by: -1) {
                let bit = (code >> UInt32(i)) & 1
                let last = i == 0
                var (zero, one) = children[node]
                var child = bit == 0 ? zero : one
                if last {
                    child = -1 - symbol
                } else if child == Int.min {
                    child = children.count
                    children.append((Int.min, Int.min))
                    depth.append(depth[node] + 1)
                    allOnes.append(allOnes[node] && bit == 1)
                }
                if bit == 0 { zero = child } else { one = child }
                children[node] = (zero, one)
                node = child
            }
        }
        precondition(children.count == 256, "the HPACK code tree has 256 inner nodes")
        var steps: [Step] = []
        steps.reserveCapacity(256 * 16)
        for state in 0..<256 {
            for nibble in 0..<16 {
                var node = state, symbol: Int16 = -1
                for i in stride(from: 3, through: 0, by: -1) {
                    let bit = (nibble >> i) & 1
                    let child = bit == 0 ? children[node].0 : children[node].1
                    if child < 0 {
                        symbol = Int16(-1 - child)
                        node = 0
                    } else {
                        node = child
                    }
                }
                steps.append(Step(next: UInt8(node), symbol: symbol))
            }
        }
        let accepting = (0..<256).map { $0 == 0 || (allOnes[$0] && depth[$0] <= 7) }
        return (steps, accepting)
    }

    enum Failure: Error { case eos, badPadding }

    /// Appends the decoded octets of `input` to `out`.
    static func decode(_ input: ArraySlice<UInt8>, into out: inout [UInt8]) throws(Failure) {
        let (steps, accepting) = table
        var state = 0
        try steps.withUnsafeBufferPointer { (t) throws(Failure) in
            @inline(__always) func step(_ nibble: Int, _ out: inout [UInt8]) throws(Failure) {
                let s = t[state &* 16 &+ nibble]
                if s.symbol >= 0 {
                    if s.symbol == 256 { throw .eos }
                    out.append(UInt8(truncatingIfNeeded: s.symbol))
                }
                state = Int(s.next)
            }
            for byte in input {
                try step(Int(byte >> 4), &out)
                try step(Int(byte & 15), &out)
            }
        }
        guard accepting[state] else { throw .badPadding }
    }

    /// The length in octets of `input` Huffman-coded.
    static func encodedLength(_ input: some Sequence<UInt8>) -> Int {
        var bits = 0
        for b in input { bits += Int(HPACKHuffmanCode.lengths[Int(b)]) }
        return (bits + 7) / 8
    }

    /// Appends `input` Huffman-coded, padded with the EOS prefix (ones).
    static func encode(_ input: some Sequence<UInt8>, into out: inout [UInt8]) {
        var acc: UInt64 = 0, bits = 0
        for b in input {
            let length = Int(HPACKHuffmanCode.lengths[Int(b)])
            acc = (acc << UInt64(length)) | UInt64(HPACKHuffmanCode.codes[Int(b)])
            bits += length
            while bits >= 8 {
                bits -= 8
                out.append(UInt8(truncatingIfNeeded: acc >> UInt64(bits)))
            }
            acc &= (1 << UInt64(bits)) - 1
        }
        if bits > 0 {
            out.append(UInt8(truncatingIfNeeded: (acc << UInt64(8 - bits)) | ((1 << UInt64(8 - bits)) - 1)))
        }
    }
}
