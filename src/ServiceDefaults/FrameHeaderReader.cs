using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>
/// Passes a gRPC request body through unchanged, checking each message frame's compressed flag as soon as its 5-byte
/// header has arrived: anything but 0 or 1 is refused by <see cref="UnparseableRequests"/> (grpc-dotnet would throw
/// InvalidDataException, which reaches the caller as UNKNOWN).
/// </summary>
internal sealed class FrameHeaderReader(PipeReader inner, string path, UnparseableRequests unparseable) : PipeReader
{
    private const int HeaderSize = 5;

    // Offsets from the start of the body: where the buffer last handed out begins, and where the next header begins.
    private long _bufferStart;
    private long _nextHeader;
    private ReadOnlySequence<byte> _buffer;

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        var result = await inner.ReadAsync(cancellationToken).ConfigureAwait(false);
        Check(result.Buffer);
        return result;
    }

    public override bool TryRead(out ReadResult result)
    {
        if (!inner.TryRead(out result))
        {
            return false;
        }

        Check(result.Buffer);
        return true;
    }

    public override void AdvanceTo(SequencePosition consumed)
    {
        _bufferStart += _buffer.Slice(0, consumed).Length;
        inner.AdvanceTo(consumed);
    }

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        _bufferStart += _buffer.Slice(0, consumed).Length;
        inner.AdvanceTo(consumed, examined);
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

    private void Check(ReadOnlySequence<byte> buffer)
    {
        _buffer = buffer;
        Span<byte> header = stackalloc byte[HeaderSize];
        while (_nextHeader - _bufferStart + HeaderSize <= buffer.Length)
        {
            buffer.Slice(_nextHeader - _bufferStart, HeaderSize).CopyTo(header);
            if (header[0] > 1)
            {
                // Hand the read back first, as grpc-dotnet would after its own check threw.
                inner.AdvanceTo(buffer.Start, buffer.End);
                throw unparseable.Refuse(path, $"Compressed flag {header[0]} in a message header; only 0 and 1 are defined.");
            }

            _nextHeader += HeaderSize + BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        }
    }
}
