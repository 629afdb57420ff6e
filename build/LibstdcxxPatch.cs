// MSBuild inline task (RoslynCodeTaskFactory, netstandard2.0): see TorchSharp.targets for the why.
#nullable enable
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class PatchLibTorchSharpForOldLibstdcxx : Task
{
    const string MissingVersion = "GLIBCXX_3.4.32";
    const string ShimFile = "libsedd_glibcxx_shim.so";
    const ushort VerFlagWeak = 0x2;
    const long DtNull = 0, DtNeeded = 1, DtRpath = 15, DtRunpath = 29;

    [Required] public string[] NativeDirectories { get; set; } = Array.Empty<string>();
    [Required] public string ShimSource { get; set; } = "";

    public override bool Execute()
    {
        var libraries = NativeDirectories
            .Select(d => Path.GetFullPath(Path.Combine(d, "libLibTorchSharp.so")))
            .Distinct().Where(File.Exists).ToList();
        if (libraries.Count == 0) return true;

        var system = FindSystemLibstdcxx();
        if (system == null)
        {
            Log.LogMessage(MessageImportance.Normal, "sedd: no system libstdc++.so.6 found; libLibTorchSharp.so left as shipped.");
            return true;
        }
        if (IndexOf(File.ReadAllBytes(system), Encoding.ASCII.GetBytes(MissingVersion + "\0"), 0) >= 0)
        {
            Log.LogMessage(MessageImportance.Low, $"sedd: {system} provides {MissingVersion}; no patch needed.");
            return true;
        }

        foreach (var library in libraries)
        {
            var bytes = File.ReadAllBytes(library);
            string? problem;
            bool changed;
            try { changed = Patch(bytes, out problem); }
            catch (Exception e) { changed = false; problem = e.Message; }
            if (problem != null)
            {
                Log.LogError($"sedd: cannot adapt {library} to {system} (which lacks {MissingVersion}): {problem}");
                return false;
            }
            var dir = Path.GetDirectoryName(library)!;
            if (!BuildShim(Path.Combine(dir, ShimFile))) return false;
            if (!changed) continue;
            var temp = library + ".sedd-tmp";
            File.WriteAllBytes(temp, bytes);
            File.Delete(library); // a copy in the output folder; the package cache is never touched
            File.Move(temp, library);
            Log.LogMessage(MessageImportance.High,
                $"sedd: {system} lacks {MissingVersion}; patched {library} (weak version, no-op shim {ShimFile}).");
        }
        return true;
    }

    static string? FindSystemLibstdcxx()
    {
        try
        {
            var psi = new ProcessStartInfo(File.Exists("/sbin/ldconfig") ? "/sbin/ldconfig" : "ldconfig", "-p")
            { RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi)!;
            var text = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            foreach (var line in text.Split('\n'))
            {
                var t = line.Trim();
                if (t.StartsWith("libstdc++.so.6 ", StringComparison.Ordinal) && t.Contains("x86-64"))
                {
                    var path = t.Substring(t.IndexOf("=>", StringComparison.Ordinal) + 2).Trim();
                    if (File.Exists(path)) return path;
                }
            }
        }
        catch (Exception) { /* fall back to the usual places */ }
        foreach (var path in new[] { "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6" })
            if (File.Exists(path)) return path;
        return null;
    }

    bool BuildShim(string output)
    {
        if (File.Exists(output) && File.GetLastWriteTimeUtc(output) >= File.GetLastWriteTimeUtc(ShimSource)) return true;
        var temp = output + ".sedd-tmp";
        foreach (var compiler in new[] { "cc", "gcc", "clang" })
        {
            try
            {
                var psi = new ProcessStartInfo(compiler, $"-shared -fPIC -O2 -o \"{temp}\" \"{ShimSource}\"")
                { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
                using var p = Process.Start(psi)!;
                var err = p.StandardError.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0) { Log.LogError($"sedd: {compiler} failed to build {ShimFile}: {err.Trim()}"); return false; }
                if (File.Exists(output)) File.Delete(output);
                File.Move(temp, output);
                return true;
            }
            catch (System.ComponentModel.Win32Exception) { /* try the next compiler */ }
        }
        Log.LogError($"sedd: the system libstdc++ lacks {MissingVersion} and no C compiler (cc, gcc, clang) was found to build {ShimFile}; install gcc (apt-get install gcc) and build again.");
        return false;
    }

    /// <summary>Marks the GLIBCXX_3.4.32 requirement weak and adds DT_NEEDED on the shim. Returns whether bytes changed.</summary>
    static bool Patch(byte[] b, out string? problem)
    {
        problem = null;
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2 || b[5] != 1)
        { problem = "not a little-endian ELF64 file"; return false; }
        long shoff = I64(b, 0x28);
        int shentsize = U16(b, 0x3A), shnum = U16(b, 0x3C);
        long dynOff = -1, dynSize = 0, verneedOff = -1, dynsymOff = -1, dynsymSize = 0; int dynLink = -1, verneedNum = 0;
        var sections = new List<(int type, long off, long size, int link, int info)>();
        for (int i = 0; i < shnum; i++)
        {
            long s = shoff + (long)i * shentsize;
            sections.Add(((int)U32(b, s + 4), I64(b, s + 24), I64(b, s + 32), (int)U32(b, s + 40), (int)U32(b, s + 44)));
        }
        foreach (var s in sections)
        {
            if (s.type == 6) { dynOff = s.off; dynSize = s.size; dynLink = s.link; }
            else if (s.type == 0x6ffffffe) { verneedOff = s.off; verneedNum = s.info; }
            else if (s.type == 11) { dynsymOff = s.off; dynsymSize = s.size; }
        }
        if (dynOff < 0 || verneedOff < 0 || dynLink < 0) { problem = "no .dynamic or .gnu.version_r section"; return false; }
        long strOff = sections[dynLink].off, strSize = sections[dynLink].size;
        string Str(long o) { long e = strOff + o; while (b[e] != 0) e++; return Encoding.ASCII.GetString(b, (int)(strOff + o), (int)(e - strOff - o)); }

        var referenced = new List<long>();
        bool changed = false, foundVersion = false;
        long vn = verneedOff;
        for (int n = 0; n < verneedNum; n++)
        {
            referenced.Add(U32(b, vn + 4));
            long aux = vn + U32(b, vn + 8);
            for (int a = 0; a < U16(b, vn + 2); a++)
            {
                long name = U32(b, aux + 8);
                referenced.Add(name);
                if (Str(name) == MissingVersion)
                {
                    foundVersion = true;
                    int flags = U16(b, aux + 4);
                    if ((flags & VerFlagWeak) == 0) { W16(b, aux + 4, (ushort)(flags | VerFlagWeak)); changed = true; }
                }
                aux += U32(b, aux + 12);
            }
            vn += U32(b, vn + 12);
        }
        if (!foundVersion) return false; // this build of the library does not need the version

        int slots = (int)(dynSize / 16), nullIndex = -1; long runpath = -1;
        for (int i = 0; i < slots; i++)
        {
            long tag = I64(b, dynOff + i * 16), val = I64(b, dynOff + i * 16 + 8);
            if (tag == DtNull) { nullIndex = i; break; }
            if (tag == DtNeeded && Str(val) == ShimFile) return changed; // already depends on the shim
            if (tag == DtRunpath || tag == DtRpath) runpath = val;
            if (tag == DtNeeded || tag == DtRunpath || tag == DtRpath || tag == 14) referenced.Add(val);
        }
        if (nullIndex < 0 || nullIndex + 1 >= slots) { problem = "no spare slot in .dynamic for the shim dependency"; return false; }
        if (runpath < 0) { problem = "no RUNPATH string to reuse"; return false; }
        for (long s = dynsymOff; dynsymOff >= 0 && s < dynsymOff + dynsymSize; s += 24) referenced.Add(U32(b, s));

        // The shipped RUNPATH is "$ORIGIN/:" followed by build-machine paths; keep "$ORIGIN/" and
        // reuse the rest of the string's bytes for the shim's file name.
        const string origin = "$ORIGIN/";
        var current = Str(runpath);
        int needed = origin.Length + 1 + ShimFile.Length + 1;
        if (!current.StartsWith(origin, StringComparison.Ordinal) || current.Length + 1 < needed)
        { problem = $"unexpected RUNPATH '{current}'"; return false; }
        long lo = runpath + 1, hi = runpath + needed;
        if (referenced.Any(r => r >= lo && r <= hi)) { problem = "RUNPATH bytes are shared with other strings"; return false; }
        long at = strOff + runpath + origin.Length;
        b[at] = 0;
        var shimName = Encoding.ASCII.GetBytes(ShimFile);
        Array.Copy(shimName, 0, b, at + 1, shimName.Length);
        b[at + 1 + shimName.Length] = 0;
        long shimOffset = runpath + origin.Length + 1;
        if (shimOffset + shimName.Length >= strSize) { problem = "string table too small"; return false; }
        W64(b, dynOff + nullIndex * 16, DtNeeded); W64(b, dynOff + nullIndex * 16 + 8, shimOffset);
        W64(b, dynOff + (nullIndex + 1) * 16, DtNull); W64(b, dynOff + (nullIndex + 1) * 16 + 8, 0);
        return true;
    }

    static int IndexOf(byte[] hay, byte[] needle, int start)
    {
        for (int i = start; i <= hay.Length - needle.Length; i++)
        {
            int j = 0;
            while (j < needle.Length && hay[i + j] == needle[j]) j++;
            if (j == needle.Length) return i;
        }
        return -1;
    }
    static int U16(byte[] b, long o) => b[o] | (b[o + 1] << 8);
    static uint U32(byte[] b, long o) => BitConverter.ToUInt32(b, (int)o);
    static long I64(byte[] b, long o) => BitConverter.ToInt64(b, (int)o);
    static void W16(byte[] b, long o, ushort v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }
    static void W64(byte[] b, long o, long v) { var x = BitConverter.GetBytes(v); Array.Copy(x, 0, b, o, 8); }
}
