/// Personal data in free text: e-mail addresses, phone numbers, payment card numbers (Luhn-checked)
/// and IBANs (ISO 13616 mod-97 checked). Counts what it finds by kind; the values themselves are
/// never kept or reported (a score comment saying "card×1" must not become a second copy).
///
/// What it flags, and what it deliberately does not:
/// - e-mail: `local@domain.tld` — `jane.doe+x@example.co.uk` yes, `@handle` or `a@b` no.
/// - phone: 10 to 15 digits written as a phone number is: a leading `+` (`+44 20 7946 0958`),
///   or groups joined by spaces, dots, dashes or parentheses (`(415) 555-0132`, `415.555.0132`)
///   — a bare run like `4155550132` or an order number `2024-11-30` is not flagged.
/// - card: 13 to 19 digits, optionally in groups of spaces or dashes, passing the Luhn check
///   (`4111 1111 1111 1111` yes, `4111 1111 1111 1112` no).
/// - IBAN: two letters, two check digits, 11 to 30 letters or digits, optionally in groups of four,
///   passing mod 97 (`DE89 3704 0044 0532 0130 00` yes, one digit changed no).
public struct PersonalDataScanner: Sendable {
    public struct Findings: Sendable, Equatable {
        public var emails = 0, phones = 0, cards = 0, ibans = 0
        public var total: Int { emails + phones + cards + ibans }
        public var isEmpty: Bool { total == 0 }
        /// "email×2, card×1": kinds and counts, never values.
        public var summary: String {
            [("email", emails), ("phone", phones), ("card", cards), ("iban", ibans)].filter { $0.1 > 0 }.map { "\($0.0)×\($0.1)" }.joined(separator: ", ")
        }
    }

    public init() {}

    public func scan(_ text: String, into f: inout Findings) {
        var t = text
        t.withUTF8 { scan($0, into: &f) }
    }

    func scan(_ b: UnsafeBufferPointer<UInt8>, into f: inout Findings) {
        let n = b.count
        var i = 0
        while i < n {
            let c = b[i]
            if c == 0x40 /* @ */ {
                if Self.isEmail(b, at: i) { f.emails += 1 }
                i += 1
                continue
            }
            let startsNumber = TextScan.isDigit(c) || ((c == 0x2B || c == 0x28) && i + 1 < n && TextScan.isDigit(b[i + 1]))
            if startsNumber && (i == 0 || !TextScan.isAlnum(b[i - 1])) {
                i = numberRun(b, from: i, into: &f)
                continue
            }
            if TextScan.isUpper(c) && i + 3 < n && TextScan.isUpper(b[i + 1]) && TextScan.isDigit(b[i + 2]) && TextScan.isDigit(b[i + 3])
                && (i == 0 || !TextScan.isAlnum(b[i - 1])) {
                if let end = Self.iban(b, from: i) { f.ibans += 1; i = end; continue }
            }
            i += 1
        }
    }

    /// Scans a run of digits and separators starting at `start`; returns where it ended.
    private func numberRun(_ b: UnsafeBufferPointer<UInt8>, from start: Int, into f: inout Findings) -> Int {
        let n = b.count
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var separators = 0, groups = 1
        var plus = false
        var i = start
        if b[i] == 0x2B { plus = true; i += 1 }
        var lastSep: UInt8 = 0  // the separator just passed, 0 after a digit
        while i < n {
            let c = b[i]
            if TextScan.isDigit(c) {
                digits.append(c &- 0x30)
                lastSep = 0
            } else if (c == 0x20 || c == 0x2D || c == 0x2E || c == 0x28 || c == 0x29) && i + 1 < n
                        // one separator between digit groups, or ") " and " (" around an area code
                        && (lastSep == 0 || (lastSep == 0x29 && c == 0x20) || (lastSep == 0x20 && c == 0x28))
                        && (TextScan.isDigit(b[i + 1]) || (c == 0x29 && b[i + 1] == 0x20) || (c == 0x20 && b[i + 1] == 0x28)) {
                if lastSep == 0 { separators += 1; groups += 1 }
                lastSep = c
            } else {
                break
            }
            if digits.count > 19 { break }
            i += 1
        }
        if i < n && (TextScan.isLetter(b[i]) || b[i] == 0x5F) { return i }  // part of a word or an identifier
        let d = digits.count
        if (13...19).contains(d) && Self.luhn(digits) && (separators == 0 || groups >= 3) && !plus {
            f.cards += 1
        } else if (10...15).contains(d) && (plus || separators >= 2) {
            f.phones += 1
        }
        return max(i, start + 1)
    }

    static func luhn(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (k, d) in digits.reversed().enumerated() {
            var x = Int(d)
            if k % 2 == 1 { x *= 2; if x > 9 { x -= 9 } }
            sum += x
        }
        return sum % 10 == 0 && digits.contains { $0 != 0 }
    }

    /// local@domain.tld with a non-empty local part and a dotted domain whose last label is letters.
    static func isEmail(_ b: UnsafeBufferPointer<UInt8>, at: Int) -> Bool {
        func local(_ c: UInt8) -> Bool { TextScan.isAlnum(c) || c == 0x2E || c == 0x5F || c == 0x25 || c == 0x2B || c == 0x2D }
        guard at > 0, local(b[at - 1]) else { return false }
        var i = at + 1
        var dots = 0, lastDot = -1
        while i < b.count, TextScan.isAlnum(b[i]) || b[i] == 0x2D || b[i] == 0x2E {
            if b[i] == 0x2E { dots += 1; lastDot = i }
            i += 1
        }
        var end = i
        if end > 0 && b[end - 1] == 0x2E { end -= 1; dots -= 1; lastDot = -1
            var j = end - 1
            while j > at { if b[j] == 0x2E { lastDot = j; break }; j -= 1 }
        }
        guard dots >= 1, lastDot > at + 1, end - lastDot - 1 >= 2 else { return false }
        for k in (lastDot + 1)..<end where !TextScan.isLetter(b[k]) { return false }
        return true
    }

    /// An IBAN starting at `from` (two capital letters and two digits seen): its end, if it passes mod 97.
    static func iban(_ b: UnsafeBufferPointer<UInt8>, from: Int) -> Int? {
        var chars: [UInt8] = []
        var i = from
        while i < b.count, chars.count < 34 {
            let c = b[i]
            if TextScan.isDigit(c) || TextScan.isUpper(c) { chars.append(c); i += 1; continue }
            if c == 0x20, i + 1 < b.count, TextScan.isAlnum(b[i + 1]), chars.count % 4 == 0 { i += 1; continue }
            break
        }
        if i < b.count && TextScan.isLetter(b[i]) { return nil }
        guard (15...34).contains(chars.count) else { return nil }
        // Move the first four characters to the end; letters are 10...35; the number mod 97 is 1.
        var rem = 0
        for c in chars[4...] + chars[..<4] {
            if TextScan.isDigit(c) { rem = (rem * 10 + Int(c - 0x30)) % 97 } else { rem = (rem * 100 + Int(c - 0x41 + 10)) % 97 }
        }
        return rem == 1 ? i : nil
    }
}
