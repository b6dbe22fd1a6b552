/// A rectangle of cells.
public struct Rect: Sendable, Equatable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// Where a dashboard's panels go on a screen: a header line at the top and a key-hint line at the
/// bottom; between them the grid's 12 columns are shared out over the width and its rows over the
/// height, each panel from its first cell's boundary to its last's, so neighbours meet without gaps.
public enum Layout {
    public static func rects(for panels: [Dashboard.Panel], width: Int, height: Int) -> [Rect] {
        let top = 1, available = max(0, height - 2)
        let rows = max(1, panels.map { $0.y + $0.height }.max() ?? 1)
        func colX(_ c: Int) -> Int { c * width / Dashboard.gridColumns }
        func rowY(_ r: Int) -> Int { top + r * available / rows }
        return panels.map { p in
            Rect(x: colX(p.x), y: rowY(p.y), width: colX(p.x + p.width) - colX(p.x), height: rowY(p.y + p.height) - rowY(p.y))
        }
    }
}
