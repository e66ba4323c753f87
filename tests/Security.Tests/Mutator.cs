using System.Collections;

using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Contoso.Retail.Security.Tests;

/// <summary>
/// Turns valid requests into hostile ones, deterministically from a <see cref="Random"/>: bit flips, truncation,
/// tag and wire-type corruption, length overflow, splices, deep nesting, random bytes, and well-formed messages
/// whose fields hold extreme values (so handler bugs show, not just parser ones).
/// </summary>
public static class Mutator
{
    public static readonly string[] Strategies =
        ["bit flips", "truncation", "tag corruption", "length overflow", "random bytes", "extreme values", "splice", "deep nesting"];

    private static readonly string[] ExtremeStrings =
    [
        "", " ", "\0", "SEC-1\0", "é", "\u202E", "../../etc/passwd", "'; DROP TABLE \"Items\"; --", "%s%n", "\uD800",
        "SEC-1", "SEC-2", "cust-fuzz", "dev-fuzz", "res-fuzz", new string('x', 129), new string('y', 10_000),
    ];

    /// <summary>A hostile version of <paramref name="valid"/> (one entry per stream message) and the strategy used.</summary>
    public static (string Strategy, byte[][] Messages) Mutate(IReadOnlyList<IMessage> valid, Random random)
    {
        ArgumentNullException.ThrowIfNull(valid);
        ArgumentNullException.ThrowIfNull(random);
        var messages = valid.Select(m => m.ToByteArray()).ToArray();
        var target = random.Next(messages.Length);
        var strategy = random.Next(Strategies.Length);
        messages[target] = strategy switch
        {
            0 => FlipBits(messages[target], random),
            1 => messages[target][..random.Next(messages[target].Length + 1)],
            2 => CorruptTag(messages[target], random),
            3 => OverflowLength(messages[target], random),
            4 => Payloads.RandomBytes(random, random.Next(0, 512)),
            5 => ExtremeValues(valid[target], random),
            6 => Splice(messages[target], random),
            _ => [.. messages[target], .. Payloads.Nested(random.Next(50, 5_000))],
        };

        // Streams sometimes get extra copies: more messages than any test sends.
        if (valid.Count > 1 && random.Next(4) == 0)
        {
            messages = [.. messages, .. Enumerable.Repeat(messages[target], random.Next(1, 20))];
        }

        return (Strategies[strategy], messages);
    }

    private static byte[] FlipBits(byte[] bytes, Random random)
    {
        if (bytes.Length == 0)
        {
            return [(byte)random.Next(256)];
        }

        var copy = (byte[])bytes.Clone();
        for (var flips = random.Next(1, 4); flips > 0; flips--)
        {
            copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
        }

        return copy;
    }

    private static byte[] CorruptTag(byte[] bytes, Random random)
    {
        var fields = TopLevelFields(bytes);
        if (fields.Count == 0)
        {
            return [.. Payloads.Tag((uint)random.Next(0, 20), random.Next(8)), .. bytes];
        }

        var (start, tagLength, _, _) = fields[random.Next(fields.Count)];
        var tag = random.Next(3) switch
        {
            0 => Payloads.Tag((uint)random.Next(1, 20), random.Next(8)), // another field or wire type
            1 => Payloads.Tag((uint)random.Next(1, 20), random.Next(6, 8)), // wire types 6 and 7 do not exist
            _ => Payloads.Tag(random.Next(2) == 0 ? 0u : 536_870_911u, random.Next(6)), // field 0, largest field number
        };
        return [.. bytes[..start], .. tag, .. bytes[(start + tagLength)..]];
    }

    private static byte[] OverflowLength(byte[] bytes, Random random)
    {
        var delimited = TopLevelFields(bytes).Where(f => f.LengthLength > 0).ToList();
        ulong[] lengths = [int.MaxValue, int.MaxValue + 1UL, uint.MaxValue, ulong.MaxValue, (ulong)bytes.Length + 1, 1UL << 35];
        var length = Payloads.Varint(lengths[random.Next(lengths.Length)]);
        if (delimited.Count == 0)
        {
            return [.. Payloads.Tag(1, 2), .. length, .. bytes];
        }

        var (_, _, lengthStart, lengthLength) = delimited[random.Next(delimited.Count)];
        return [.. bytes[..lengthStart], .. length, .. bytes[(lengthStart + lengthLength)..]];
    }

    private static byte[] Splice(byte[] bytes, Random random)
    {
        var at = random.Next(bytes.Length + 1);
        var chunk = random.Next(2) == 0 && bytes.Length > 0
            ? bytes[random.Next(bytes.Length)..]
            : Payloads.RandomBytes(random, random.Next(1, 32));
        return [.. bytes[..at], .. chunk, .. bytes[at..]];
    }

    /// <summary>
    /// The largest message <see cref="ExtremeValues"/> builds. Copies of items holding 10,000-character map entries
    /// multiply quickly (one case reached 16 MB). Messages over the services' size limit are HostileInputTests' case,
    /// and the test client sends each message from an ArrayPool.Shared buffer of its size (grpc-dotnet's
    /// GrpcCallSerializationContext). The pool keeps those buffers, so the managed-heap bound would count the client's
    /// 4-16 MB send buffers against the services that share the process.
    /// </summary>
    public const int MaxExtremeMessageBytes = 256 * 1024;

    private static byte[] ExtremeValues(IMessage valid, Random random)
    {
        var message = valid.Descriptor.Parser.ParseFrom(valid.ToByteArray());
        for (var changes = random.Next(1, 4); changes > 0; changes--)
        {
            var before = message.ToByteArray();
            SetExtreme(message, random, depth: 0);
            if (message.CalculateSize() > MaxExtremeMessageBytes)
            {
                message = valid.Descriptor.Parser.ParseFrom(before);
            }
        }

        return message.ToByteArray();
    }

    private static void SetExtreme(IMessage message, Random random, int depth)
    {
        var fields = message.Descriptor.Fields.InFieldNumberOrder();
        if (fields.Count == 0 || depth > 4)
        {
            return;
        }

        var field = fields[random.Next(fields.Count)];
        var accessor = field.Accessor;
        if (field.IsMap)
        {
            var map = (IDictionary)accessor.GetValue(message);
            for (var i = random.Next(1, random.Next(2) == 0 ? 4 : 40); i > 0; i--)
            {
                map[Pick(ExtremeStrings, random) + i] = Pick(ExtremeStrings, random);
            }
        }
        else if (field.IsRepeated)
        {
            var list = (IList)accessor.GetValue(message);
            if (field.FieldType == FieldType.Message)
            {
                if (list.Count > 0 && random.Next(2) == 0)
                {
                    SetExtreme((IMessage)list[random.Next(list.Count)]!, random, depth + 1);
                }
                else
                {
                    var item = field.MessageType.Parser.ParseFrom(list.Count > 0 ? ((IMessage)list[0]!).ToByteArray() : []);
                    SetExtreme(item, random, depth + 1);
                    for (var copies = random.Next(2) == 0 ? 1 : random.Next(1, 200); copies > 0; copies--)
                    {
                        list.Add(item);
                    }
                }
            }
            else if (ExtremeValue(field, random) is { } value)
            {
                list.Add(value);
            }
        }
        else if (field.FieldType == FieldType.Message)
        {
            var sub = (IMessage?)accessor.GetValue(message) ?? field.MessageType.Parser.ParseFrom([]);
            SetExtreme(sub, random, depth + 1);
            accessor.SetValue(message, sub);
        }
        else if (ExtremeValue(field, random) is { } value)
        {
            accessor.SetValue(message, value);
        }
    }

    private static object? ExtremeValue(FieldDescriptor field, Random random) => field.FieldType switch
    {
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Pick([int.MinValue, -1, 0, 1, 1_000_001, int.MaxValue], random),
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 =>
            Pick([long.MinValue, -62_135_596_801L, -1L, 0L, 253_402_300_800L, long.MaxValue], random),
        FieldType.UInt32 or FieldType.Fixed32 => Pick([0u, uint.MaxValue], random),
        FieldType.UInt64 or FieldType.Fixed64 => Pick([0ul, ulong.MaxValue], random),
        FieldType.Double => Pick([double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.MaxValue, -0.0, double.Epsilon], random),
        FieldType.Float => Pick([float.NaN, float.PositiveInfinity, float.MaxValue], random),
        FieldType.Bool => random.Next(2) == 0,
        FieldType.String => Pick(ExtremeStrings, random),
        FieldType.Bytes => ByteString.CopyFrom(Payloads.RandomBytes(random, random.Next(64))),
        _ => null, // enums: no request message has one
    };

    private static T Pick<T>(T[] values, Random random) => values[random.Next(values.Length)];

    /// <summary>Where each top-level field's tag (and, when length-delimited, its length) sits; stops at the first malformed byte.</summary>
    private static List<(int Start, int TagLength, int LengthStart, int LengthLength)> TopLevelFields(byte[] bytes)
    {
        var fields = new List<(int, int, int, int)>();
        var position = 0;
        while (position < bytes.Length)
        {
            var start = position;
            if (!TryVarint(bytes, ref position, out var tag))
            {
                break;
            }

            var tagLength = position - start;
            switch (tag & 7)
            {
                case 0:
                    if (!TryVarint(bytes, ref position, out _))
                    {
                        return fields;
                    }

                    fields.Add((start, tagLength, 0, 0));
                    break;
                case 1:
                    position += 8;
                    fields.Add((start, tagLength, 0, 0));
                    break;
                case 5:
                    position += 4;
                    fields.Add((start, tagLength, 0, 0));
                    break;
                case 2:
                    var lengthStart = position;
                    if (!TryVarint(bytes, ref position, out var length))
                    {
                        return fields;
                    }

                    fields.Add((start, tagLength, lengthStart, position - lengthStart));
                    position += (int)Math.Min(length, int.MaxValue / 2);
                    break;
                default:
                    return fields;
            }
        }

        return fields;
    }

    private static bool TryVarint(byte[] bytes, ref int position, out ulong value)
    {
        value = 0;
        for (var shift = 0; shift < 64 && position < bytes.Length; shift += 7)
        {
            var b = bytes[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }
}
