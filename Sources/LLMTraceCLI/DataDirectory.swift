/// Where llmtraced and tracectl keep data when not told otherwise.
public enum DataDirectory {
    /// Relative to the working directory, so a first run leaves its data next to where it ran.
    public static let defaultPath = "./llmtrace-data"
}
