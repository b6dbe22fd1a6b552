import LLMTraceModel

/// The fixed string fields of a span, as slots for their text ids in a `HeadRow` (`none` where the
/// field is nil). A seal builds each dictionary column from these ids (an array lookup per row)
/// instead of hashing every row's strings (~80 ms of a 100k-span seal).
enum FixedTextIDs {
    enum Slot: Int, CaseIterable {
        case project, service, name, statusMessage, provider, requestModel, responseModel
        case promptName, promptVersion, sessionID, userID, environment, finishReason
    }

    static let none = UInt32.max

    /// The slot holding a dictionary column's values, or nil for a column not stored as text
    /// (kind and status are enum indices).
    static func slot(of c: SegmentFormat.Column) -> Slot? {
        switch c {
        case .project: .project
        case .service: .service
        case .name: .name
        case .statusMessage: .statusMessage
        case .provider: .provider
        case .requestModel: .requestModel
        case .responseModel: .responseModel
        case .promptName: .promptName
        case .promptVersion: .promptVersion
        case .sessionID: .sessionID
        case .userID: .userID
        case .environment: .environment
        case .finishReason: .finishReason
        default: nil
        }
    }
}
