using Google.Protobuf;

namespace Contoso.Retail.Security.Tests;

/// <summary>Hand-made protobuf wire bytes: what no well-behaved client would send.</summary>
public static class Payloads
{
    /// <summary>A tag: field number and wire type as one varint.</summary>
    public static byte[] Tag(uint field, int wireType) => Varint(((ulong)field << 3) | (uint)wireType);

    public static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }

    /// <summary>A valid message made only of an unknown length-delimited field (1000) of <paramref name="size"/> bytes.</summary>
    public static byte[] UnknownField(int size) => [.. Tag(1000, 2), .. Varint((ulong)size), .. new byte[size]];

    /// <summary>Malformed or adversarial payloads derived from a valid request, each with a name for the figures.</summary>
    public static IEnumerable<(string Name, byte[] Bytes)> Malformed(IMessage valid, int seed)
    {
        var bytes = valid.ToByteArray();
        var random = new Random(seed);
        yield return ("truncated mid-field", bytes[..Math.Max(1, bytes.Length - 1)]);
        yield return ("truncated after tag", bytes[..1]);
        yield return ("length overflow (2^31)", [.. Tag(1, 2), .. Varint(int.MaxValue + 1UL), 1, 2, 3]);
        yield return ("length overflow (2^64-1)", [.. Tag(1, 2), .. Varint(ulong.MaxValue), 1, 2, 3]);
        yield return ("negative length", [.. Tag(1, 2), .. Varint(unchecked((ulong)-5L)), 1, 2, 3]);
        yield return ("11-byte varint", [.. Tag(2, 0), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
        yield return ("field number 0", [.. Tag(0, 0), 1]);
        yield return ("wire type 6", [.. Tag(1, 6), 1, 2, 3]);
        yield return ("wire type 7", [.. Tag(1, 7), 1, 2, 3]);
        yield return ("end-group without start", [.. Tag(1, 4)]);
        yield return ("unterminated group", [.. Tag(1000, 3), .. Tag(1001, 0), 1]);
        yield return ("groups nested 100000 deep", Nested(100_000));
        yield return ("messages nested 10000 deep in field 1", NestedLengthDelimited(10_000));
        yield return ("wrong wire type on known field 1", [.. Tag(1, 5), 1, 2, 3, 4, .. bytes]);
        yield return ("packed varints in a string field", [.. Tag(1, 2), 3, 0x80, 0x80, 0x80]);
        yield return ("random 16 bytes", RandomBytes(random, 16));
        yield return ("random 1 KiB", RandomBytes(random, 1024));
        yield return ("random 64 KiB", RandomBytes(random, 64 * 1024));
        yield return ("0xFF x 256", Enumerable.Repeat((byte)0xFF, 256).ToArray());
        yield return ("valid then garbage", [.. bytes, 0xFF, 0xFF]);
    }

    /// <summary>Start-group tags nested <paramref name="depth"/> deep (protobuf's recursion limit is 100).</summary>
    public static byte[] Nested(int depth)
    {
        var start = Tag(1000, 3);
        var end = Tag(1000, 4);
        var result = new byte[depth * (start.Length + end.Length)];
        for (var i = 0; i < depth; i++)
        {
            start.CopyTo(result, i * start.Length);
            end.CopyTo(result, (depth * start.Length) + (i * end.Length));
        }

        return result;
    }

    /// <summary>Field 1 as a length-delimited message containing field 1 as a message ... <paramref name="depth"/> deep.</summary>
    public static byte[] NestedLengthDelimited(int depth)
    {
        byte[] inner = [];
        for (var i = 0; i < depth; i++)
        {
            inner = [.. Tag(1, 2), .. Varint((ulong)inner.Length), .. inner];
        }

        return inner;
    }

    public static byte[] RandomBytes(Random random, int length)
    {
        ArgumentNullException.ThrowIfNull(random);
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
