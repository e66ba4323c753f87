using System.Text.RegularExpressions;

namespace Contoso.Retail.Template.Tests;

/// <summary>The files of a generated solution (build output ignored), with their text.</summary>
public sealed class GeneratedTree(string root)
{
    private static readonly string[] BuildOutput = ["bin", "obj", "TestResults", "node_modules", "__pycache__"];

    public string Root { get; } = root;

    /// <summary>Paths relative to the root, with '/' separators, sorted.</summary>
    public IReadOnlyList<string> Files { get; } = Directory
        .EnumerateFiles(root, "*", SearchOption.AllDirectories)
        .Select(path => Path.GetRelativePath(root, path).Replace('\\', '/'))
        .Where(path => !path.Split('/').Any(part => BuildOutput.Contains(part)))
        .Order(StringComparer.Ordinal)
        .ToList();

    public string PathOf(string relative) => Path.Combine(Root, relative);

    public bool Exists(string relative) => File.Exists(PathOf(relative)) || Directory.Exists(PathOf(relative));

    public string Read(string relative) => File.ReadAllText(PathOf(relative));

    /// <summary>Text files only (a file with a NUL byte in its first 8 KB is binary).</summary>
    public IEnumerable<(string Path, string[] Lines)> TextFiles()
    {
        foreach (var file in Files)
        {
            var bytes = File.ReadAllBytes(PathOf(file));
            if (bytes.AsSpan(0, Math.Min(bytes.Length, 8192)).Contains((byte)0))
            {
                continue;
            }

            yield return (file, File.ReadAllLines(PathOf(file)));
        }
    }

    /// <summary>"path:line: text" for every line matching <paramref name="pattern"/>, and "path" for matching file names.</summary>
    public IReadOnlyList<string> Find(Regex pattern, Func<string, bool>? skipFile = null)
    {
        var hits = new List<string>();
        hits.AddRange(Files.Where(f => pattern.IsMatch(f) && skipFile?.Invoke(f) != true).Select(f => $"{f} (file name)"));
        foreach (var (path, lines) in TextFiles())
        {
            if (skipFile?.Invoke(path) == true)
            {
                continue;
            }

            for (var i = 0; i < lines.Length; i++)
            {
                if (pattern.IsMatch(lines[i]))
                {
                    hits.Add($"{path}:{i + 1}: {lines[i].Trim()}");
                }
            }
        }

        return hits;
    }
}
