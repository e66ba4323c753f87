using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;

using Grpc.Core;

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Contoso.Retail.ServiceDefaults.Tests.Grpc;

/// <summary>
/// The frame check sees a request body in whatever pieces the transport delivers: here one byte a read, which real
/// Kestrel cannot be made to do on demand, so the body is a Pipe fed in lock step with a reader that consumes whole
/// frames only, as grpc-dotnet's does. (WireGarbageTests send the lies to every method of the real services.)
/// </summary>
public sealed class UnparseableFramesTests
{
    private const string MethodPath = "/notes.v1.NoteService/SaveNote";

    [Fact]
    public async Task Frames_arriving_a_byte_at_a_time_pass_through_whole_when_every_flag_is_0_or_1()
    {
        byte[] body = [.. Frame(0, [1, 2, 3]), .. Frame(1, []), .. Frame(0, [4, 5])];

        var (frames, refused) = await ReadAByteAtATimeAsync(body);

        Assert.Null(refused);
        Assert.Equal(3, frames);
    }

    [Fact]
    public async Task A_compressed_flag_of_2_on_a_later_frame_is_INVALID_ARGUMENT_naming_the_method_once_its_header_arrives()
    {
        byte[] body = [.. Frame(0, [1, 2, 3]), .. Frame(1, [9]), .. Frame(2, [4, 5]), .. Frame(0, [6])];

        var (frames, refused) = await ReadAByteAtATimeAsync(body);

        Assert.Equal(2, frames);
        Assert.NotNull(refused);
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.Equal(UnparseableRequests.MessageFor(MethodPath), refused.Status.Detail);
    }

    /// <summary>Runs <paramref name="body"/> through the middleware: whole frames read, and the refusal if any.</summary>
    private static async Task<(int Frames, RpcException? Refused)> ReadAByteAtATimeAsync(byte[] body)
    {
        var builder = WebApplication.CreateBuilder();
        builder.AddDefaultGrpc();
        await using var app = builder.Build();
        var pipe = new Pipe();
        var frames = 0;
        RpcException? refused = null;
        app.UseUnparseableFrames();
        app.Use(next => async context =>
        {
            var reader = context.Request.BodyReader;
            try
            {
                foreach (var b in body)
                {
                    await pipe.Writer.WriteAsync(new[] { b }, TestContext.Current.CancellationToken);
                    var result = await reader.ReadAsync(TestContext.Current.CancellationToken);
                    var buffer = result.Buffer;
                    frames += ConsumeWholeFrames(ref buffer);
                    reader.AdvanceTo(buffer.Start, buffer.End);
                }
            }
            catch (RpcException ex)
            {
                refused = ex;
            }
        });
        var http = new DefaultHttpContext();
        http.Request.ContentType = "application/grpc";
        http.Request.Path = MethodPath;
        http.Features.Set<IRequestBodyPipeFeature>(new Body(pipe.Reader));

        await ((IApplicationBuilder)app).Build()(http);

        return (frames, refused);
    }

    private static int ConsumeWholeFrames(ref ReadOnlySequence<byte> buffer)
    {
        var count = 0;
        Span<byte> header = stackalloc byte[5];
        while (buffer.Length >= 5)
        {
            buffer.Slice(0, 5).CopyTo(header);
            var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
            if (buffer.Length < 5 + length)
            {
                break;
            }

            buffer = buffer.Slice(5 + length);
            count++;
        }

        return count;
    }

    private static byte[] Frame(byte flag, byte[] message)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = flag;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    private sealed class Body(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }
}
