using System.Buffers.Binary;

namespace Sedd.Exporter.Sources;

/// <summary>
/// A pass over a pickle's opcodes (Python's pickletools.genops, protocols 0–5) before it is unpickled:
/// every opcode must be known, and every argument — a length-prefixed string or bytes, a line, a frame —
/// must lie inside the data. Razorvine allocates an argument's buffer from its declared length before
/// reading it, so a pickle of a few bytes declaring a 4 GB string would otherwise ask for 4 GB. After
/// this pass, nothing the unpickler reads is larger than the pickle itself.
/// </summary>
static class PickleScan
{
    /// <summary>Throws <see cref="Razorvine.Pickle.PickleException"/> unless <paramref name="data"/> is a well-formed opcode stream ending in STOP.</summary>
    /// <param name="data">The whole pickle.</param>
    /// <param name="cancel">Checked as the pass goes.</param>
    public static void Check(ReadOnlySpan<byte> data, CancellationToken cancel)
    {
        int at = 0;
        long ops = 0;
        while (at < data.Length)
        {
            if ((++ops & 0xFFFF) == 0) cancel.ThrowIfCancellationRequested();
            byte op = data[at++];
            int rest = data.Length - at;
            switch (op)
            {
                case (byte)'.': return;   // STOP
                // No argument.
                case (byte)'N' or 0x88 or 0x89 or (byte)']' or (byte)'a' or (byte)'e' or (byte)'l' or (byte)')' or (byte)'t'
                    or 0x85 or 0x86 or 0x87 or (byte)'}' or (byte)'d' or (byte)'s' or (byte)'u' or 0x8f or 0x90 or 0x91
                    or (byte)'0' or (byte)'2' or (byte)'(' or (byte)'1' or 0x94 or 0x93 or (byte)'R' or (byte)'b' or (byte)'o'
                    or 0x81 or 0x92 or (byte)'Q' or 0x97 or 0x98:
                    break;
                // Fixed-size arguments.
                case (byte)'K' or (byte)'h' or (byte)'q' or 0x82 or 0x80: at += Need(1, rest); break;
                case (byte)'M' or 0x83: at += Need(2, rest); break;
                case (byte)'J' or (byte)'j' or (byte)'r' or 0x84: at += Need(4, rest); break;
                case (byte)'G' or 0x95: at += Need(8, rest); break;   // BINFLOAT, FRAME (its length is only a hint)
                // Length-prefixed arguments: 1-, 4- or 8-byte little-endian length, then that many bytes.
                case 0x8a or (byte)'U' or (byte)'C' or 0x8c:
                    Need(1, rest);
                    at += 1 + Need(data[at], rest - 1);
                    break;
                case 0x8b or (byte)'T' or (byte)'B' or (byte)'X':
                    Need(4, rest);
                    long n4 = op is 0x8b or (byte)'T' ? BinaryPrimitives.ReadInt32LittleEndian(data[at..]) : BinaryPrimitives.ReadUInt32LittleEndian(data[at..]);
                    if (n4 < 0) throw Bad($"opcode 0x{op:x2} declares a negative length");
                    at += 4 + Need(n4, rest - 4);
                    break;
                case 0x8e or 0x8d or 0x96:
                    Need(8, rest);
                    ulong n8 = BinaryPrimitives.ReadUInt64LittleEndian(data[at..]);
                    at += 8 + Need(n8 > int.MaxValue ? long.MaxValue : (long)n8, rest - 8);
                    break;
                // Newline-terminated arguments (protocol 0 and GLOBAL/INST with two lines).
                case (byte)'I' or (byte)'L' or (byte)'S' or (byte)'V' or (byte)'F' or (byte)'g' or (byte)'p' or (byte)'P':
                    at += Line(data[at..]);
                    break;
                case (byte)'c' or (byte)'i':
                    at += Line(data[at..]);
                    at += Line(data[at..]);
                    break;
                default:
                    throw Bad($"unknown opcode 0x{op:x2} at byte {at - 1}");
            }
        }
        throw Bad("it ends without a STOP opcode (truncated?)");
    }

    static int Need(long bytes, int rest) =>
        bytes <= rest ? (int)bytes : throw Bad($"an argument of {bytes:N0} bytes runs past the end of the {rest:N0} that are left");

    static int Line(ReadOnlySpan<byte> data)
    {
        int newline = data.IndexOf((byte)'\n');
        return newline >= 0 ? newline + 1 : throw Bad("a text argument has no end of line");
    }

    static Razorvine.Pickle.PickleException Bad(string why) => new(why);
}
