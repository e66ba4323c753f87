using System.IO.Compression;

using Grpc.Core;
using Grpc.Net.Compression;

using Microsoft.AspNetCore.Http;

namespace Contoso.Retail.ServiceDefaults;

/// <summary>
/// A server compression provider whose decompression refuses, through <see cref="UnparseableRequests"/>, a message
/// body it cannot decompress (grpc-dotnet would let the decompressor's InvalidDataException reach the caller as UNKNOWN).
/// </summary>
internal sealed class CheckedDecompression(ICompressionProvider inner, UnparseableRequests unparseable, IHttpContextAccessor http)
    : ICompressionProvider
{
    public string EncodingName => inner.EncodingName;

    public Stream CreateCompressionStream(Stream stream, CompressionLevel? compressionLevel) =>
        inner.CreateCompressionStream(stream, compressionLevel);

    public Stream CreateDecompressionStream(Stream stream) => new Checked(inner.CreateDecompressionStream(stream), this);

    private RpcException Refuse(Exception ex) =>
        unparseable.Refuse(http.HttpContext?.Request.Path.Value ?? "", $"The {EncodingName} message body does not decompress: {ex.Message}");

    private static bool IsBadData(Exception ex) => ex is not RpcException and not OperationCanceledException;

    /// <summary>Read-only pass-through; only a failing read changes.</summary>
    private sealed class Checked(Stream inner, CheckedDecompression owner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            try
            {
                return inner.Read(buffer);
            }
            catch (Exception ex) when (IsBadData(ex))
            {
                throw owner.Refuse(ex);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                return await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsBadData(ex))
            {
                throw owner.Refuse(ex);
            }
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
