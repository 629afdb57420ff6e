using System.Buffers.Binary;
using CsCheck;
using Sedd.Runtime;
using Xunit.Sdk;

namespace Sedd.Tests.Shared;

/// <summary>
/// Helpers for fuzz tests of Sedd's readers: mutations of a valid input, and the one outcome allowed for
/// any input — success or a one-line <see cref="SeddException"/> with exit 1, 2 or 3; never another
/// exception type (which the CLI would report as an internal error, exit 70), never a hang.
/// </summary>
static class Fuzz
{
    static readonly long[] Interesting = [0, 1, -1, 255, 0x7FFF_FFFF, 0xFFFF_FFFF, 0x8000_0000, long.MaxValue, long.MinValue, 1L << 40];

    /// <summary>Copies of <paramref name="valid"/> with 1–6 mutations each: byte flips, interesting integers, insertions, deletions, truncation.</summary>
    public static Gen<byte[]> Mutations(byte[] valid) =>
        Gen.Select(Gen.Int[0, 5], Gen.Int[0, int.MaxValue], Gen.Int[0, Interesting.Length - 1], Gen.Byte.Array[1, 12])
            .Array[1, 6]
            .Select(edits =>
            {
                var bytes = new List<byte>(valid);
                foreach (var (kind, at, which, data) in edits)
                {
                    if (bytes.Count == 0) break;
                    int i = at % bytes.Count;
                    switch (kind)
                    {
                        case 0: bytes[i] = data[0]; break;
                        case 1:
                            var v = new byte[8];
                            BinaryPrimitives.WriteInt64LittleEndian(v, Interesting[which]);
                            for (int k = 0; k < 8 && i + k < bytes.Count; k++) bytes[i + k] = v[k];
                            break;
                        case 2: bytes.InsertRange(i, data); break;
                        case 3: bytes.RemoveRange(i, Math.Min(data.Length, bytes.Count - i)); break;
                        case 4: bytes.RemoveRange(i, bytes.Count - i); break;
                        default: bytes[i] ^= (byte)(1 << (data[0] & 7)); break;
                    }
                }
                return bytes.ToArray();
            });

    /// <summary>Runs <paramref name="read"/>: success, or a one-line SeddException with exit 1–3, within <paramref name="seconds"/>.</summary>
    public static void Expect(Action read, string what, double seconds = 10)
    {
        var task = Task.Run(read);
        bool finished;
        try { finished = task.Wait(TimeSpan.FromSeconds(seconds)); }
        catch (AggregateException e) when (e.InnerException is SeddException s)
        {
            if (s.ExitCode is 1 or 2 or 3 && !s.Message.Contains('\n', StringComparison.Ordinal)) return;
            throw new XunitException($"{what}: exit {s.ExitCode}, message '{s.Message}'");
        }
        catch (AggregateException e)
        {
            var inner = e.InnerException!;
            throw new XunitException($"{what}: {inner.GetType().Name}: {inner.Message}\n{inner.StackTrace}");
        }
        if (!finished) throw new XunitException($"{what}: no answer within {seconds} s (a hang)");
    }
}
