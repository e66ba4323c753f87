using System.Text.RegularExpressions;

using Contoso.Retail.TestSupport;

namespace Contoso.Retail.Deploy.Tests.Support;

/// <summary>The root Dockerfile, parsed into stages of instructions (continuation lines joined, comments dropped).</summary>
public sealed partial class Dockerfile
{
    public sealed record Instruction(string Keyword, string Arguments);

    public sealed record Stage(string Name, string From, IReadOnlyList<Instruction> Instructions)
    {
        public IEnumerable<string> All(string keyword) =>
            Instructions.Where(i => i.Keyword == keyword).Select(i => i.Arguments);
    }

    private Dockerfile(IReadOnlyDictionary<string, string> args, IReadOnlyList<Stage> stages) => (Args, Stages) = (args, stages);

    /// <summary>ARGs declared before the first FROM, with their defaults.</summary>
    public IReadOnlyDictionary<string, string> Args { get; }

    public IReadOnlyList<Stage> Stages { get; }

    public Stage this[string name] =>
        Stages.SingleOrDefault(s => s.Name == name) ?? throw new Xunit.Sdk.XunitException($"Dockerfile has no stage '{name}'");

    /// <summary>The image a stage starts from, following stage names (FROM build AS x) to the external image, ARGs expanded.</summary>
    public string BaseImage(Stage stage)
    {
        while (Stages.FirstOrDefault(s => s.Name == stage.From) is { } parent)
        {
            stage = parent;
        }

        return Args.Aggregate(stage.From, (image, arg) => image.Replace("${" + arg.Key + "}", arg.Value, StringComparison.Ordinal));
    }

    /// <summary>The stages <paramref name="stage"/> is built from: its FROM chain and every COPY --from.</summary>
    public IEnumerable<Stage> Ancestry(Stage stage)
    {
        var seen = new HashSet<string>();
        var pending = new Stack<Stage>([stage]);
        while (pending.TryPop(out var current))
        {
            if (!seen.Add(current.Name))
            {
                continue;
            }

            yield return current;
            var sources = current.All("COPY").Select(a => CopyFrom().Match(a)).Where(m => m.Success).Select(m => m.Groups[1].Value).Append(current.From);
            foreach (var source in sources)
            {
                if (Stages.FirstOrDefault(s => s.Name == source) is { } parent)
                {
                    pending.Push(parent);
                }
            }
        }
    }

    public static Dockerfile Load(string? path = null)
    {
        var text = File.ReadAllText(path ?? Repository.PathOf("Dockerfile"));
        var logical = new List<string>();
        var current = "";
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (current.Length == 0 && (line.TrimStart().StartsWith('#') || string.IsNullOrWhiteSpace(line)))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                current += line[..^1] + " ";
                continue;
            }

            logical.Add((current + line).Trim());
            current = "";
        }

        var args = new Dictionary<string, string>();
        var stages = new List<Stage>();
        List<Instruction>? instructions = null;
        foreach (var line in logical)
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var keyword = line[..space].ToUpperInvariant();
            var arguments = line[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                var from = FromLine().Match(arguments);
                Assert.True(from.Success, $"FROM without AS name: {line}");
                instructions = [];
                stages.Add(new Stage(from.Groups["name"].Value, from.Groups["image"].Value, instructions));
            }
            else if (instructions is null)
            {
                if (keyword == "ARG" && arguments.Split('=', 2) is [var name, var value])
                {
                    args[name] = value;
                }
            }
            else
            {
                instructions.Add(new Instruction(keyword, arguments));
            }
        }

        return new Dockerfile(args, stages);
    }

    [GeneratedRegex(@"^(?:--platform=\S+\s+)?(?<image>\S+)\s+AS\s+(?<name>\S+)$", RegexOptions.IgnoreCase)]
    private static partial Regex FromLine();

    [GeneratedRegex(@"--from=(\S+)")]
    private static partial Regex CopyFrom();
}
